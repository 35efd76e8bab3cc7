#include "lib/base/file.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace coldstart {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

TEST(ReadFileTest, ReadsARegularFileWhole) {
  const std::string path = TempPath("whole.txt");
  std::ofstream(path) << "line 1\nline 2\n";
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "line 1\nline 2\n");
}

TEST(ReadFileTest, DirectoryIsInvalidArgumentNotACrash) {
  const std::string path = TempPath("a-directory");
  mkdir(path.c_str(), 0700);
  absl::StatusOr<std::string> text = ReadFile(path);
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("is a directory"));
}

TEST(ReadFileTest, MissingFileIsNotFoundAndInputFileMakesItBadInput) {
  const std::string path = TempPath("does-not-exist");
  EXPECT_EQ(ReadFile(path).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::string> input = ReadInputFile(path);
  EXPECT_EQ(input.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(input.status().message(), HasSubstr(path));
}

TEST(ReadFileTest, LargerThanTheLimitIsRefused) {
  const std::string path = TempPath("big.txt");
  std::ofstream(path) << std::string(1000, 'x');
  EXPECT_EQ(ReadFile(path, 999).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ReadFile(path, 1000).ok());
}

TEST(ReadFileTest, DevNullReadsEmpty) {
  absl::StatusOr<std::string> text = ReadFile("/dev/null");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "");
}

TEST(AbbreviateTest, ShortTextUnchangedLongTextCutWithItsSize) {
  EXPECT_EQ(Abbreviate("short", 10), "short");
  const std::string big(50 << 20, 'v');
  const std::string cut = Abbreviate(big, 8);
  EXPECT_EQ(cut, "vvvvvvvv… (52428800 bytes)");
}

}  // namespace
}  // namespace coldstart
