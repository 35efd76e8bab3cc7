// Crash-safe file replacement and an exclusive advisory lock, for state files
// that tools read, change and write back (`--state FILE`).
#ifndef COLDSTART_LIB_CLI_ATOMIC_FILE_H_
#define COLDSTART_LIB_CLI_ATOMIC_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace coldstart {

// Replaces `path` with `contents` so that a reader (or a crash at any point)
// sees either the old file or the complete new one, never a mix: writes a
// temporary file in the same directory, fsyncs it, renames it over `path`
// and fsyncs the directory. Keeps the mode of an existing file (new files:
// 0644). Errors: the failing system call and path (code from errno); the
// temporary file is removed on failure.
absl::Status WriteFileAtomically(absl::string_view path,
                                 absl::string_view contents);

// WriteFileAtomically for key material: the file is 0600 whatever its mode
// was, and the temporary file is created 0600 (O_EXCL) so the contents are
// never readable by others, not even for a moment.
absl::Status WriteSecretFileAtomically(absl::string_view path,
                                       absl::string_view contents);

// An exclusive flock(2) on a lock file, released when destroyed (or when the
// process dies). Lock a sidecar file ("state.txtpb.lock"), not the file that
// WriteFileAtomically replaces: rename gives that file a new inode.
class FileLock {
 public:
  // Opens (creating if needed) and locks `path`. With `wait` false a lock
  // held by another process is FailedPrecondition naming the file; with
  // `wait` true it blocks until the lock is free.
  static absl::StatusOr<FileLock> Acquire(absl::string_view path, bool wait);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace coldstart

#endif  // COLDSTART_LIB_CLI_ATOMIC_FILE_H_
