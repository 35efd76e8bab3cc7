#include "lib/testing/files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/base/file.h"

namespace coldstart::testing {

std::string TestTempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

std::string MakeTempDir(absl::string_view prefix) {
  std::string pattern = absl::StrCat(TestTempDir(), "/", prefix, "XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << " failed";
  }
  return pattern;
}

std::string RunfilePath(absl::string_view workspace_relative_path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  if (srcdir == nullptr) return std::string(workspace_relative_path);
  return absl::StrCat(srcdir, "/coldstart/", workspace_relative_path);
}

std::string ReadTestFile(absl::string_view path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    ADD_FAILURE() << text.status();
    return "";
  }
  return *std::move(text);
}

void WriteTestFile(absl::string_view path, absl::string_view contents,
                   int mode) {
  const std::string name(path);
  const int fd =
      open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    ADD_FAILURE() << "cannot write " << path;
    return;
  }
  fchmod(fd, mode);
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n <= 0) {
      ADD_FAILURE() << "write " << path << " failed";
      break;
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
}

}  // namespace coldstart::testing
