#include "lib/cli/cli_flags.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/cli/cli.h"

ABSL_FLAG(std::string, in, "",
          "Read the Cluster from FILE ('-' or unset: standard input).");
ABSL_FLAG(std::string, state, "",
          "Read the Cluster from FILE and write the result back into it "
          "(atomic, locked).");
ABSL_FLAG(std::string, o, "textproto",
          "Output format of the Cluster on stdout: textproto or json.");
ABSL_FLAG(bool, dry_run, false,
          "Validate, check credentials and reachability, print the plan; "
          "change nothing.");
ABSL_FLAG(std::string, events, "",
          "Append JSON-lines progress events (step, node, start/end, "
          "outcome) to FILE.");
ABSL_FLAG(std::string, keystore, "",
          "Keystore: secret-service or file:DIR (default: "
          "$COLDSTART_KEYSTORE, then the spec).");

namespace coldstart {

absl::StatusOr<CommonOptions> CommonOptionsFromFlags() {
  CommonOptions options;
  options.in = absl::GetFlag(FLAGS_in);
  options.state = absl::GetFlag(FLAGS_state);
  ASSIGN_OR_RETURN(options.output, ParseOutputFormat(absl::GetFlag(FLAGS_o)));
  options.dry_run = absl::GetFlag(FLAGS_dry_run);
  options.events = absl::GetFlag(FLAGS_events);
  options.keystore = absl::GetFlag(FLAGS_keystore);
  RETURN_IF_ERROR(CheckCommonOptions(options));
  return options;
}

namespace {

bool IsHelpFlagFile(absl::string_view path) {
  return absl::EndsWith(path, "_main.cc") ||
         absl::EndsWith(path, "lib/cli/cli_flags.cc") ||
         absl::EndsWith(path, "lib/cli/kube_flags.cc");
}

[[noreturn]] void UsageError(absl::string_view tool, absl::string_view what) {
  std::cerr << tool << ": " << what << " (see --help)\n";
  std::exit(2);
}

// Prints `usage` and the tool's flags (its *_main.cc and the common ones), with
// the spellings users type ("--dry-run"), sorted by name.
void PrintHelp(absl::string_view usage) {
  std::vector<std::pair<std::string, const absl::CommandLineFlag*>> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsHelpFlagFile(flag->Filename())) {
      std::string shown(name);
      for (char& c : shown) {
        if (c == '_') c = '-';
      }
      flags.emplace_back(shown.size() == 1 ? "-" + shown : "--" + shown, flag);
    }
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::cout << usage << "\n\nFlags:\n";
  for (const auto& [shown, flag] : flags) {
    std::cout << "  " << shown;
    if (!flag->IsOfType<bool>()) std::cout << " VALUE";
    std::cout << "\n      " << flag->Help();
    const std::string default_value = flag->DefaultValue();
    if (!default_value.empty() && default_value != "false") {
      std::cout << " (default: " << default_value << ")";
    }
    std::cout << "\n";
  }
  std::cout << "\nExit codes: 0 done (or nothing to do), 1 the world said no "
               "(state written so far is valid; re-run to resume), 2 bad "
               "input or usage (nothing changed).\n";
}

// Checks every flag of `args` (already normalized) against the registry, so
// that a usage error exits 2 instead of absl's 1.
void CheckFlags(absl::string_view tool, const std::vector<std::string>& args) {
  static const auto* const kBuiltin = new absl::flat_hash_set<std::string>{
      "help",     "helpfull",  "helpshort",  "helppackage",
      "helpon",   "helpmatch", "version",    "only_check_args",
      "flagfile", "fromenv",   "tryfromenv", "undefok"};
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    const absl::string_view body =
        absl::string_view(arg).substr(arg[1] == '-' ? 2 : 1);
    const size_t equals = body.find('=');
    const std::string name(body.substr(0, equals));
    if (name == "help" || name == "h" || name == "helpshort" ||
        name == "helpfull") {
      PrintHelp(absl::ProgramUsageMessage());
      std::exit(0);
    }
    if (kBuiltin->contains(name)) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      absl::CommandLineFlag* negated =
          absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>() &&
          equals == absl::string_view::npos) {
        continue;
      }
    }
    if (flag == nullptr)
      UsageError(tool, absl::StrCat("unknown flag --", name));
    std::string value;
    if (equals != absl::string_view::npos) {
      value = std::string(body.substr(equals + 1));
    } else if (flag->IsOfType<bool>()) {
      continue;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      UsageError(tool, absl::StrCat("flag --", name, " needs a value"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      UsageError(tool, absl::StrCat("bad value for --", name, ": ", error));
    }
  }
}

}  // namespace

std::vector<std::string> ParseToolCommandLine(int argc, char** argv,
                                              absl::string_view tool,
                                              absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = IsHelpFlagFile;
  config.contains_helpshort_flags = IsHelpFlagFile;
  absl::SetFlagsUsageConfig(config);
  std::vector<std::string> args = NormalizeFlagNames(argc, argv);
  CheckFlags(tool, args);
  std::vector<char*> pointers;
  for (std::string& arg : args) pointers.push_back(arg.data());
  const std::vector<char*> positional = absl::ParseCommandLine(
      static_cast<int>(pointers.size()), pointers.data());
  return std::vector<std::string>(positional.begin(), positional.end());
}

}  // namespace coldstart
