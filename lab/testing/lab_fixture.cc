#include "lab/testing/lab_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "lib/base/file.h"
#include "lib/testing/files.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace coldstart::lab {
namespace {

// Live or zombie processes whose parent is this process.
std::vector<std::string> OwnChildren() {
  std::vector<std::string> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  pid_t self = getpid();
  while (dirent* entry = readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    std::string stat =
        ReadFile(absl::StrCat("/proc/", pid, "/stat")).value_or("");
    // pid (comm) state ppid ...; comm may hold spaces: split after ')'.
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::vector<std::string> fields =
        absl::StrSplit(stat.substr(paren + 2), ' ');
    int ppid = 0;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &ppid)) continue;
    if (ppid == self) {
      found.push_back(absl::StrCat(pid, " ", stat.substr(0, paren + 1),
                                   " state ", fields[0]));
    }
  }
  closedir(proc);
  return found;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LabProcess>> LabProcess::Start(
    const LabProcessOptions& options) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::unique_ptr<LabProcess> lab(new LabProcess());
  std::string pattern =
      absl::StrCat(coldstart::testing::TestTempDir(), "/lab.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", strerror(errno)));
  }
  lab->workdir_ = pattern;
  std::string ready = lab->workdir_ + "/ready.json";
  std::vector<std::string> args = {
      RunfilePath("lab/labd/labd"),
      "--spec",
      options.spec_path.empty() ? RunfilePath("testdata/lab.txtpb")
                                : options.spec_path,
      "--workdir",
      lab->workdir_,
      "--time-scale",
      absl::StrCat(options.time_scale),
      "--ready-file",
      ready,
      "--admin",
      "127.0.10.254:0",
      "--any-port",
  };
  if (!options.faults.empty()) {
    std::string path = lab->workdir_ + "/faults.txtpb";
    std::ofstream(path) << options.faults;
    args.push_back("--faults");
    args.push_back(path);
  }
  if (!options.module_options.empty()) {
    // One flag: labd's list flag takes the last occurrence only.
    args.push_back("--module-opt");
    args.push_back(absl::StrJoin(options.module_options, ","));
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.push_back(*e);
  for (const auto& [key, value] : options.env) {
    env_strings.push_back(key + "=" + value);
  }
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string stderr_path = lab->workdir_ + "/labd.stderr";
  int err_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);

  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    // If the test dies without stopping labd, labd still gets SIGTERM.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(err_fd, 1);
    dup2(err_fd, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(err_fd);
  lab->pid_ = pid;

  absl::Time deadline = absl::Now() + options.ready_timeout;
  while (access(ready.c_str(), R_OK) != 0) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      lab->pid_ = 0;
      int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return absl::FailedPreconditionError(
          absl::StrCat("labd exited with code ", code,
                       " before ready: ", ReadFile(stderr_path).value_or("")));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "labd not ready after ", absl::FormatDuration(options.ready_timeout),
          ": ", ReadFile(stderr_path).value_or("")));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  nlohmann::json j =
      nlohmann::json::parse(ReadFile(ready).value_or(""), nullptr, false);
  if (j.is_discarded()) return absl::InternalError("bad ready file");
  lab->admin_ = j.value("admin", "");
  for (const auto& [module, listeners] : j["modules"].items()) {
    for (const auto& [name, address] : listeners.items()) {
      lab->modules_[module][name] = address.get<std::string>();
    }
  }
  return lab;
}

LabProcess::~LabProcess() {
  if (pid_ != 0) (void)Stop();
}

absl::StatusOr<LabExit> LabProcess::Stop() {
  if (pid_ == 0) return absl::FailedPreconditionError("labd is not running");
  LabExit result;
  kill(pid_, SIGTERM);
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) {
    return absl::InternalError(absl::StrCat("waitpid: ", strerror(errno)));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  pid_t group = pid_;
  pid_ = 0;
  // Anything labd left running was reparented here (subreaper).
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  result.leftover_processes = OwnChildren();
  if (kill(-group, 0) == 0) {
    result.leftover_processes.push_back(
        absl::StrCat("process group ", group, " still has members"));
  }
  result.leftovers = !result.leftover_processes.empty();
  return result;
}

std::string LabProcess::ModuleAddress(const std::string& module,
                                      const std::string& listener) const {
  auto m = modules_.find(module);
  if (m == modules_.end()) return "";
  auto l = m->second.find(listener);
  return l == m->second.end() ? "" : l->second;
}

absl::StatusOr<std::vector<RequestRecord>> LabProcess::Requests(
    const std::string& module) const {
  return ReadRequestLogFile(
      absl::StrCat(workdir_, "/requests/", module, ".jsonl"));
}

std::string LabProcess::Stderr() const {
  return ReadFile(workdir_ + "/labd.stderr").value_or("");
}

}  // namespace coldstart::lab
