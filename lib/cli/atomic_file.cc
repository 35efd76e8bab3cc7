#include "lib/cli/atomic_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/base/errno_status.h"

namespace coldstart {
namespace {

std::string DirectoryOf(absl::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace

namespace {

absl::Status WriteAtomically(absl::string_view path, absl::string_view contents,
                             std::optional<mode_t> forced_mode) {
  const std::string target(path);
  std::string temp_name = absl::StrCat(target, ".tmp.XXXXXX");
  std::vector<char> temp(temp_name.begin(), temp_name.end());
  temp.push_back('\0');
  const int fd = mkstemp(temp.data());
  if (fd < 0) return ErrnoToStatus(errno, "create temporary file for", path);
  temp_name = temp.data();
  auto fail = [&](absl::string_view what) {
    const int error = errno;
    close(fd);
    unlink(temp_name.c_str());
    return ErrnoToStatus(error, what, temp_name);
  };

  mode_t mode = 0644;
  struct stat existing;
  if (forced_mode.has_value()) {
    mode = *forced_mode;
  } else if (stat(target.c_str(), &existing) == 0) {
    mode = existing.st_mode & 07777;
  }
  if (fchmod(fd, mode) != 0) return fail("chmod");

  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n =
        write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return fail("fsync");
  if (close(fd) != 0) {
    const int error = errno;
    unlink(temp_name.c_str());
    return ErrnoToStatus(error, "close", temp_name);
  }
  if (rename(temp_name.c_str(), target.c_str()) != 0) {
    const int error = errno;
    unlink(temp_name.c_str());
    return ErrnoToStatus(error, "rename onto", path);
  }
  const std::string directory = DirectoryOf(target);
  const int dir_fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd < 0) return ErrnoToStatus(errno, "open directory", directory);
  const int sync_result = fsync(dir_fd);
  const int sync_errno = errno;
  close(dir_fd);
  if (sync_result != 0) return ErrnoToStatus(sync_errno, "fsync", directory);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomically(absl::string_view path,
                                 absl::string_view contents) {
  return WriteAtomically(path, contents, std::nullopt);
}

absl::Status WriteSecretFileAtomically(absl::string_view path,
                                       absl::string_view contents) {
  return WriteAtomically(path, contents, 0600);
}

absl::StatusOr<FileLock> FileLock::Acquire(absl::string_view path, bool wait) {
  const std::string name(path);
  const int fd = open(name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoToStatus(errno, "open lock file", path);
  int result;
  do {
    result = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    const int error = errno;
    close(fd);
    if (error == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat(path,
                       " is locked by another process (another coldstart "
                       "tool on the same state file?); wait for it and "
                       "re-run"));
    }
    return ErrnoToStatus(error, "flock", path);
  }
  return FileLock(fd);
}

FileLock::FileLock(FileLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace coldstart
