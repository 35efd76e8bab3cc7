// The file:DIR keystore backend.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/keystore.h"
#include "lib/secrets/keystore_backends.h"

namespace coldstart {
namespace keystore_internal {
namespace {

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  return ErrnoToStatus(errno, what, path);
}

bool Plain(char c) {
  return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '@' || c == '-';
}

std::string Encode(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (Plain(c)) {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

bool Decode(absl::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      int value = 0;
      if (i + 2 >= s.size()) return false;
      for (int j = 1; j <= 2; ++j) {
        char h = s[i + j];
        if (!absl::ascii_isxdigit(h)) return false;
        value = value * 16 + (absl::ascii_isdigit(h)
                                  ? h - '0'
                                  : absl::ascii_tolower(h) - 'a' + 10);
      }
      out->push_back(static_cast<char>(value));
      i += 2;
    } else if (Plain(s[i])) {
      out->push_back(s[i]);
    } else {
      return false;
    }
  }
  return true;
}

// Refuses a file or directory that others may access or we do not own.
absl::Status CheckPrivate(const struct stat& st, const std::string& path,
                          mode_t want) {
  if (st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(
        absl::StrCat("keystore ", path, " is owned by uid ", st.st_uid,
                     ", not by us (uid ", geteuid(), ")"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "keystore %s has mode %04o, readable or writable by others; it must "
        "be %04o (chmod %o %s)",
        path, st.st_mode & 07777, want, want, path));
  }
  return absl::OkStatus();
}

class FileKeystore : public Keystore {
 public:
  explicit FileKeystore(std::string dir) : dir_(std::move(dir)) {}

  std::string Describe() const override { return "file:" + dir_; }

  absl::Status Store(const KeystoreAttributes& attributes, absl::string_view,
                     const Secret& value) override {
    RETURN_IF_ERROR(CheckDir());
    ASSIGN_OR_RETURN(std::string path, PathFor(attributes));
    std::string tmp = dir_ + "/.tmp-XXXXXX";
    int fd = mkostemp(tmp.data(), O_CLOEXEC);  // creates 0600
    if (fd < 0) return ErrnoStatus("create temporary file in", dir_);
    absl::Status status = WriteAll(fd, value.Reveal(), tmp);
    if (status.ok() && fchmod(fd, 0600) != 0)
      status = ErrnoStatus("chmod", tmp);
    if (status.ok() && fsync(fd) != 0) status = ErrnoStatus("fsync", tmp);
    if (close(fd) != 0 && status.ok()) status = ErrnoStatus("close", tmp);
    if (status.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
      status = ErrnoStatus("rename into place", path);
    }
    if (!status.ok()) {
      unlink(tmp.c_str());
      return status;
    }
    return SyncDir();
  }

  absl::StatusOr<Secret> Lookup(const KeystoreAttributes& attributes) override {
    RETURN_IF_ERROR(CheckDir());
    ASSIGN_OR_RETURN(std::string path, PathFor(attributes));
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      if (errno == ENOENT) {
        return absl::NotFoundError(absl::StrCat(
            Describe(), ": no item ", FileNameForAttributes(attributes)));
      }
      return ErrnoStatus("open", path);
    }
    struct stat st;
    absl::Status status = fstat(fd, &st) == 0 ? CheckPrivate(st, path, 0600)
                                              : ErrnoStatus("stat", path);
    std::string contents;
    if (status.ok()) {
      char buf[4096];
      for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          status = ErrnoStatus("read", path);
          break;
        }
        if (n == 0) break;
        contents.append(buf, n);
      }
      WipeBytes(buf, sizeof(buf));
    }
    close(fd);
    Secret secret(std::move(contents));
    if (!status.ok()) return status;
    return secret;
  }

  absl::Status Delete(const KeystoreAttributes& attributes) override {
    RETURN_IF_ERROR(CheckDir());
    ASSIGN_OR_RETURN(std::string path, PathFor(attributes));
    if (unlink(path.c_str()) != 0) {
      if (errno == ENOENT) {
        return absl::NotFoundError(absl::StrCat(
            Describe(), ": no item ", FileNameForAttributes(attributes)));
      }
      return ErrnoStatus("delete", path);
    }
    return SyncDir();
  }

  absl::StatusOr<std::vector<KeystoreAttributes>> Search(
      const KeystoreAttributes& subset) override {
    RETURN_IF_ERROR(CheckDir());
    DIR* dir = opendir(dir_.c_str());
    if (dir == nullptr) return ErrnoStatus("list", dir_);
    std::vector<KeystoreAttributes> found;
    while (struct dirent* entry = readdir(dir)) {
      KeystoreAttributes attributes;
      if (entry->d_name[0] == '.') continue;
      if (AttributesFromFileName(entry->d_name, &attributes) &&
          ContainsAll(attributes, subset)) {
        found.push_back(std::move(attributes));
      }
    }
    closedir(dir);
    return found;
  }

  absl::Status CheckDir() const {
    struct stat st;
    if (stat(dir_.c_str(), &st) != 0) return ErrnoStatus("keystore", dir_);
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("keystore ", dir_, " is not a directory"));
    }
    return CheckPrivate(st, dir_, 0700);
  }

 private:
  absl::StatusOr<std::string> PathFor(const KeystoreAttributes& attributes) {
    if (attributes.empty()) {
      return absl::InvalidArgumentError("keystore item needs attributes");
    }
    std::string name = FileNameForAttributes(attributes);
    if (name.size() > 255) {
      return absl::InvalidArgumentError(absl::StrCat(
          "keystore item attributes too long for a file name: ", name));
    }
    return dir_ + "/" + name;
  }

  absl::Status WriteAll(int fd, absl::string_view data,
                        const std::string& path) {
    while (!data.empty()) {
      ssize_t n = write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("write", path);
      data.remove_prefix(n);
    }
    return absl::OkStatus();
  }

  absl::Status SyncDir() {
    int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", dir_);
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? absl::OkStatus() : ErrnoStatus("fsync", dir_);
  }

  std::string dir_;
};

}  // namespace

std::string FileNameForAttributes(const KeystoreAttributes& attributes) {
  std::string name;
  for (const auto& [key, value] : attributes) {
    absl::StrAppend(&name, name.empty() ? "" : ",", Encode(key), "=",
                    Encode(value));
  }
  return name;
}

bool AttributesFromFileName(absl::string_view name,
                            KeystoreAttributes* attributes) {
  attributes->clear();
  if (name.empty()) return false;
  for (absl::string_view part : absl::StrSplit(name, ',')) {
    std::vector<absl::string_view> kv = absl::StrSplit(part, '=');
    std::string key, value;
    if (kv.size() != 2 || !Decode(kv[0], &key) || !Decode(kv[1], &value) ||
        key.empty()) {
      return false;
    }
    (*attributes)[key] = value;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<Keystore>> OpenFileKeystore(
    const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus("create keystore directory", dir);
  }
  auto keystore = std::make_unique<FileKeystore>(dir);
  RETURN_IF_ERROR(keystore->CheckDir());
  return keystore;
}

}  // namespace keystore_internal
}  // namespace coldstart
