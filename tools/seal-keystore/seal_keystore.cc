#include "tools/seal-keystore/seal_keystore.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lib/base/file.h"
#include "lib/base/status_macros.h"
#include "tools/seal-keystore/cluster_commands.h"
#include "tools/seal-keystore/command.h"
#include "tools/seal-keystore/key_commands.h"
#include "tools/seal-keystore/sealing_commands.h"

namespace coldstart {
namespace {

constexpr char kTool[] = "seal-keystore";

struct Subcommand {
  const char* name;
  bool reads_cluster;
  absl::Status (*run)(SealKeystoreCommand&);
};

constexpr Subcommand kSubcommands[] = {
    {"init", false, RunInit},      {"import", false, RunImport},
    {"cert", false, RunCert},      {"renew-cert", false, RunRenewCert},
    {"seal", false, RunSeal},      {"unseal", false, RunUnseal},
    {"check", false, RunCheck},    {"backup", true, RunBackup},
    {"restore", true, RunRestore},
};

}  // namespace

absl::Status RealMain(const SealKeystoreOptions& options, ToolIo& io) {
  Subcommand subcommand{nullptr, false, nullptr};
  for (const Subcommand& candidate : kSubcommands) {
    if (options.command == candidate.name) subcommand = candidate;
  }
  if (subcommand.name == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown command \"", Abbreviate(options.command),
        "\"; want init, import, cert, renew-cert, seal, unseal, check, backup "
        "or restore"));
  }
  if (options.command == "seal" && options.batch) {
    subcommand = {"seal", true, RunSealBatch};
  } else if (options.batch) {
    return absl::InvalidArgumentError("--batch is a flag of seal");
  }
  absl::StatusOr<std::unique_ptr<ToolRun>> run =
      subcommand.reads_cluster
          ? ToolRun::Open(kTool, options.common, io)
          : ToolRun::OpenWithoutCluster(kTool, options.common, io);
  if (!run.ok()) return run.status();
  SealKeystoreCommand command(options, **run);
  return (*run)->Finish(subcommand.run(command));
}

}  // namespace coldstart
