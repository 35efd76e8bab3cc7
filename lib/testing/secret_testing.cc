#include "lib/testing/secret_testing.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace coldstart {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Forks and execs `argv`. Each of `stdin_fd`/`stdout_fd`/`stderr_fd` >= 0 is
// dup'ed onto 0/1/2 in the child; the child dies with SIGKILL if the test
// process goes away first.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, int stdin_fd,
                            int stdout_fd, int stderr_fd) {
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Errno("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int null_fd = open("/dev/null", O_RDWR);
    dup2(stdin_fd >= 0 ? stdin_fd : null_fd, 0);
    dup2(stdout_fd >= 0 ? stdout_fd : null_fd, 1);
    dup2(stderr_fd >= 0 ? stderr_fd : null_fd, 2);
    for (int fd = 3; fd < 1024; ++fd) close(fd);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Terminate(pid_t& pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) {
      pid = -1;
      return;
    }
    absl::SleepFor(absl::Milliseconds(25));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  pid = -1;
}

bool Exited(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         absl::string_view stdin_data) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    return Errno("pipe");
  }
  absl::StatusOr<pid_t> pid = Spawn(argv, in[0], out[1], err[1]);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!pid.ok()) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    return pid.status();
  }
  signal(SIGPIPE, SIG_IGN);
  ProcessResult result;
  size_t written = 0;
  if (stdin_data.empty()) {
    close(in[1]);
    in[1] = -1;
  }
  int open_outputs = 2;
  while (open_outputs > 0 || in[1] >= 0) {
    pollfd fds[3] = {
        {out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return Errno("poll");
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        continue;
      }
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        (i == 0 ? result.out : result.err).append(buf, n);
      } else {
        close(fds[i].fd);
        (i == 0 ? out[0] : err[0]) = -1;
        --open_outputs;
      }
    }
    if (in[1] >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(in[1], stdin_data.data() + written,
                        stdin_data.size() - written);
      if (n > 0) written += n;
      if (n <= 0 || written == stdin_data.size()) {
        close(in[1]);
        in[1] = -1;
      }
    }
  }
  int status = 0;
  waitpid(*pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

absl::Status PrivateSecretService::Start() {
  // Unix socket paths are limited to 108 bytes, and Bazel's TEST_TMPDIR can
  // be longer: the sockets (bus, keyring control) go under a short /tmp dir.
  char short_dir[] = "/tmp/coldstart-ss-XXXXXX";
  if (mkdtemp(short_dir) == nullptr) return Errno("mkdtemp /tmp");
  socket_dir_ = short_dir;
  const std::string home = work_dir_ + "/home";
  const std::string runtime = socket_dir_ + "/run";
  const std::string bus_dir = socket_dir_ + "/bus";
  for (const std::string& dir : {work_dir_, home, runtime, bus_dir}) {
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Errno("mkdir " + dir);
    }
  }
  const std::string config = work_dir_ + "/bus.conf";
  {
    std::ofstream conf(config);
    conf << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus "
            "Configuration 1.0//EN\"\n"
            " \"http://www.freedesktop.org/standards/dbus/1.0/"
            "busconfig.dtd\">\n"
            "<busconfig>\n"
            "  <type>session</type>\n"
            "  <listen>unix:dir="
         << bus_dir
         << "</listen>\n"
            "  <auth>EXTERNAL</auth>\n"
            "  <policy context=\"default\">\n"
            "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
            "    <allow eavesdrop=\"true\"/>\n"
            "    <allow own=\"*\"/>\n"
            "  </policy>\n"
            "</busconfig>\n";
  }
  const std::string dbus_log = work_dir_ + "/dbus-daemon.log";
  const std::string keyring_log = work_dir_ + "/gnome-keyring.log";

  // dbus-daemon prints its address on the pipe once it listens.
  int addr[2];
  if (pipe2(addr, O_CLOEXEC)) return Errno("pipe");
  int log_fd =
      open(dbus_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  absl::StatusOr<pid_t> dbus =
      Spawn({"/usr/bin/dbus-daemon", "--config-file=" + config, "--nofork",
             "--print-address=1"},
            -1, addr[1], log_fd);
  close(addr[1]);
  close(log_fd);
  if (!dbus.ok()) {
    close(addr[0]);
    return dbus.status();
  }
  dbus_pid_ = *dbus;
  std::string address;
  char c;
  while (read(addr[0], &c, 1) == 1 && c != '\n') address.push_back(c);
  close(addr[0]);
  if (address.empty()) {
    Stop();
    return absl::FailedPreconditionError(absl::StrCat(
        "dbus-daemon did not print an address; its log: ", ReadFile(dbus_log)));
  }
  bus_address_ = address;
  setenv("DBUS_SESSION_BUS_ADDRESS", bus_address_.c_str(), 1);
  setenv("HOME", home.c_str(), 1);
  setenv("XDG_RUNTIME_DIR", runtime.c_str(), 1);
  setenv("XDG_DATA_HOME", (home + "/.local/share").c_str(), 1);
  unsetenv("GNOME_KEYRING_CONTROL");

  int password[2];
  if (pipe2(password, O_CLOEXEC)) return Errno("pipe");
  log_fd =
      open(keyring_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  absl::StatusOr<pid_t> keyring =
      Spawn({"/usr/bin/gnome-keyring-daemon", "--foreground", "--unlock",
             "--components=secrets"},
            password[0], log_fd, log_fd);
  close(password[0]);
  close(log_fd);
  if (!keyring.ok()) {
    close(password[1]);
    Stop();
    return keyring.status();
  }
  keyring_pid_ = *keyring;
  constexpr absl::string_view kPassword = "test-keyring-password";
  (void)!write(password[1], kPassword.data(), kPassword.size());
  close(password[1]);

  // Wait (bounded) until the daemon owns the Secret Service name.
  absl::Time give_up = absl::Now() + absl::Seconds(30);
  for (;;) {
    absl::StatusOr<ProcessResult> owner =
        RunProcess({"/usr/bin/dbus-send", "--session", "--print-reply",
                    "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets"});
    if (owner.ok() && owner->out.find("boolean true") != std::string::npos) {
      return absl::OkStatus();
    }
    bool keyring_exited = Exited(keyring_pid_);
    if (keyring_exited) keyring_pid_ = -1;
    if (keyring_exited || absl::Now() > give_up) {
      std::string why = keyring_exited ? "exited" : "did not claim it in 30 s";
      Stop();
      return absl::FailedPreconditionError(absl::StrCat(
          "gnome-keyring-daemon ", why,
          " (org.freedesktop.secrets not on the private bus); its output: ",
          ReadFile(keyring_log), "; dbus-daemon log: ", ReadFile(dbus_log)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

void PrivateSecretService::Stop() {
  Terminate(keyring_pid_);
  Terminate(dbus_pid_);
  if (!socket_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(socket_dir_, ignored);
    socket_dir_.clear();
  }
}

}  // namespace coldstart
