#include "lab/process/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "re2/re2.h"

extern char** environ;

namespace coldstart::lab {
namespace {

constexpr size_t kMaxStdin = 64 * 1024;

bool GroupExists(pid_t pgid) { return kill(-pgid, 0) == 0 || errno == EPERM; }

// Reaps every exited process of group `pgid` that is our child (the leader,
// and descendants reparented to this subreaper). Records the leader's status.
void ReapGroup(pid_t pgid, pid_t leader, bool* leader_exited,
               int* leader_status) {
  while (true) {
    int status = 0;
    pid_t pid = waitpid(-pgid, &status, WNOHANG);
    if (pid <= 0) break;
    if (pid == leader) {
      *leader_exited = true;
      *leader_status = status;
    }
  }
}

absl::Status MakeDirs(const std::string& path) {
  std::string partial;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      partial = path.substr(0, i);
      if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
        return absl::InternalError(
            absl::StrCat("mkdir ", partial, ": ", std::strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string Describe(const ChildExit& e) {
  std::string out = absl::StrCat(e.name, " pid=", e.pid);
  if (e.signal != 0) {
    absl::StrAppend(&out, " signal=", e.signal);
  } else {
    absl::StrAppend(&out, " exit=", e.exit_code);
  }
  if (e.killed) absl::StrAppend(&out, " (killed)");
  if (e.leftovers) absl::StrAppend(&out, " LEFTOVERS");
  return out;
}

Supervisor::Supervisor(std::string workdir) : workdir_(std::move(workdir)) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Writing stdin of a child that already died must not kill the lab.
  signal(SIGPIPE, SIG_IGN);
}

Supervisor::~Supervisor() { StopAll(); }

std::string Supervisor::LogPath(const std::string& name) const {
  return absl::StrCat(workdir_, "/logs/", name, ".log");
}

absl::StatusOr<pid_t> Supervisor::Start(const ChildSpec& spec) {
  if (!RE2::FullMatch(spec.name, "[A-Za-z0-9_.-]+")) {
    return absl::InvalidArgumentError(
        absl::StrCat("child name \"", spec.name, "\" must be [A-Za-z0-9_.-]+"));
  }
  if (spec.argv.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("child ", spec.name, ": empty argv"));
  }
  if (spec.stdin_data.size() > kMaxStdin) {
    return absl::InvalidArgumentError(
        absl::StrCat("child ", spec.name, ": stdin data over 64 KiB"));
  }
  {
    absl::MutexLock lock(&mu_);
    for (const Child& c : children_) {
      if (c.name == spec.name) {
        return absl::AlreadyExistsError(
            absl::StrCat("child ", spec.name, " is already running"));
      }
    }
  }
  absl::Status dirs = MakeDirs(workdir_ + "/logs");
  if (!dirs.ok()) return dirs;

  std::string log_path = LogPath(spec.name);
  int log_fd =
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("child ", spec.name,
                                            ": cannot open ", log_path, ": ",
                                            std::strerror(errno)));
  }
  std::string header = absl::StrCat("[lab] starting ", spec.name, ": ",
                                    absl::StrJoin(spec.argv, " "), "\n");
  (void)!write(log_fd, header.data(), header.size());

  int stdin_fds[2] = {-1, -1};
  if (spec.stdin_data.empty()) {
    stdin_fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
  } else if (pipe2(stdin_fds, O_CLOEXEC) != 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> argv;
  for (const std::string& a : spec.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : spec.env) replaced |= (k == key);
    if (!replaced) env_strings.push_back(std::move(entry));
  }
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    close(stdin_fds[0]);
    if (stdin_fds[1] >= 0) close(stdin_fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) {
      sigaction(sig, &dfl, nullptr);
    }
    dup2(stdin_fds[0], 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    syscall(SYS_close_range, 3u, ~0u, 0u);
    execvpe(argv[0], argv.data(), envp.data());
    const char msg[] = "[lab] exec failed\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(127);
  }
  setpgid(pid, pid);  // also in the parent: no window where signals miss it
  close(log_fd);
  close(stdin_fds[0]);
  if (stdin_fds[1] >= 0) {
    const char* data = spec.stdin_data.data();
    size_t left = spec.stdin_data.size();
    while (left > 0) {
      ssize_t n = write(stdin_fds[1], data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // child gone; its exit status will tell
      data += n;
      left -= static_cast<size_t>(n);
    }
    close(stdin_fds[1]);
  }
  absl::MutexLock lock(&mu_);
  children_.push_back({spec.name, pid, false, 0});
  return pid;
}

bool Supervisor::IsRunning(const std::string& name) {
  absl::MutexLock lock(&mu_);
  for (Child& c : children_) {
    if (c.name != name) continue;
    if (!c.exited) {
      int status = 0;
      if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
        c.exited = true;
        c.status = status;
      }
    }
    return !c.exited;
  }
  return false;
}

absl::StatusOr<ChildExit> Supervisor::Stop(const std::string& name,
                                           absl::Duration grace) {
  Child child;
  {
    absl::MutexLock lock(&mu_);
    auto it = std::find_if(children_.begin(), children_.end(),
                           [&](const Child& c) { return c.name == name; });
    if (it == children_.end()) {
      return absl::NotFoundError(absl::StrCat("no child named ", name));
    }
    child = *it;
    children_.erase(it);
  }
  ChildExit result;
  result.name = child.name;
  result.pid = child.pid;
  const pid_t pgid = child.pid;

  kill(-pgid, SIGTERM);
  absl::Time deadline = absl::Now() + grace;
  while (true) {
    ReapGroup(pgid, child.pid, &child.exited, &child.status);
    if (child.exited && !GroupExists(pgid)) break;
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  if (!child.exited || GroupExists(pgid)) {
    result.killed = true;
    kill(-pgid, SIGKILL);
    absl::Time kill_deadline = absl::Now() + absl::Seconds(5);
    while (true) {
      ReapGroup(pgid, child.pid, &child.exited, &child.status);
      if (child.exited && !GroupExists(pgid)) break;
      if (absl::Now() >= kill_deadline) break;
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  result.leftovers = GroupExists(pgid);
  if (child.exited) {
    if (WIFEXITED(child.status)) {
      result.exit_code = WEXITSTATUS(child.status);
    } else if (WIFSIGNALED(child.status)) {
      result.signal = WTERMSIG(child.status);
    }
  } else {
    result.leftovers = true;
  }
  return result;
}

std::vector<ChildExit> Supervisor::StopAll(absl::Duration grace) {
  std::vector<ChildExit> exits;
  while (true) {
    std::string name;
    {
      absl::MutexLock lock(&mu_);
      if (children_.empty()) break;
      name = children_.back().name;
    }
    absl::StatusOr<ChildExit> e = Stop(name, grace);
    if (e.ok()) exits.push_back(*e);
  }
  return exits;
}

std::vector<std::string> Supervisor::Running() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const Child& c : children_) names.push_back(c.name);
  return names;
}

}  // namespace coldstart::lab
