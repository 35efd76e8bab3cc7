#include "lib/cli/command_line.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/cli/cli.h"

namespace coldstart {

namespace {

// The flags --help lists: a program's own (its *_main.cc) and the shared
// flag sets in lib/cli/*_flags.cc that it links.
bool IsHelpFlagFile(absl::string_view path) {
  if (absl::EndsWith(path, "_main.cc")) return true;
  const size_t dir = path.rfind("lib/cli/");
  return dir != absl::string_view::npos && absl::EndsWith(path, "_flags.cc") &&
         path.find('/', dir + 8) == absl::string_view::npos;
}

[[noreturn]] void UsageError(absl::string_view tool, absl::string_view what) {
  std::cerr << tool << ": " << what << " (see --help)\n";
  std::exit(2);
}

// A flag name as users type it ("dry_run" -> "dry-run").
std::string AsTyped(std::string name) {
  for (char& c : name) {
    if (c == '_') c = '-';
  }
  return name;
}

// Prints `usage` and the tool's flags (its *_main.cc and the common ones), with
// the spellings users type ("--dry-run"), sorted by name.
void PrintHelp(absl::string_view usage, absl::string_view exit_codes) {
  std::vector<std::pair<std::string, const absl::CommandLineFlag*>> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsHelpFlagFile(flag->Filename())) {
      const std::string shown = AsTyped(std::string(name));
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
  std::cout << "\n" << exit_codes << "\n";
}

// Checks every flag of `args` (already normalized) against the registry, so
// that a usage error exits 2 instead of absl's 1.
void CheckFlags(absl::string_view tool, absl::string_view exit_codes,
                const std::vector<std::string>& args) {
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
      PrintHelp(absl::ProgramUsageMessage(), exit_codes);
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
    if (flag == nullptr) {
      UsageError(tool, absl::StrCat("unknown flag --", AsTyped(name)));
    }
    std::string value;
    if (equals != absl::string_view::npos) {
      value = std::string(body.substr(equals + 1));
    } else if (flag->IsOfType<bool>()) {
      continue;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      UsageError(tool,
                 absl::StrCat("flag --", AsTyped(name), " needs a value"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      UsageError(tool,
                 absl::StrCat("bad value for --", AsTyped(name), ": ", error));
    }
  }
}

}  // namespace

std::vector<std::string> ParseToolCommandLine(int argc, char** argv,
                                              absl::string_view tool,
                                              absl::string_view usage,
                                              absl::string_view exit_codes) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = IsHelpFlagFile;
  config.contains_helpshort_flags = IsHelpFlagFile;
  absl::SetFlagsUsageConfig(config);
  std::vector<std::string> args = NormalizeFlagNames(argc, argv);
  CheckFlags(tool, exit_codes, args);
  std::vector<char*> pointers;
  for (std::string& arg : args) pointers.push_back(arg.data());
  const std::vector<char*> positional = absl::ParseCommandLine(
      static_cast<int>(pointers.size()), pointers.data());
  return std::vector<std::string>(positional.begin(), positional.end());
}

}  // namespace coldstart
