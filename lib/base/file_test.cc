#include "lib/base/file.h"

#include <sys/stat.h>

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/testing/files.h"

namespace coldstart {
namespace {

using ::coldstart::testing::TestTempDir;
using ::coldstart::testing::WriteTestFile;
using ::testing::HasSubstr;

TEST(ReadFileTest, ReadsARegularFileWhole) {
  const std::string path = TestTempDir() + "/whole.txt";
  WriteTestFile(path, "line 1\nline 2\n");
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "line 1\nline 2\n");
}

TEST(ReadFileTest, DirectoryIsInvalidArgumentNotACrash) {
  const std::string path = TestTempDir() + "/a-directory";
  mkdir(path.c_str(), 0700);
  absl::StatusOr<std::string> text = ReadFile(path);
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("is a directory"));
}

TEST(ReadFileTest, MissingFileIsNotFoundAndInputFileMakesItBadInput) {
  const std::string path = TestTempDir() + "/does-not-exist";
  EXPECT_EQ(ReadFile(path).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::string> input = ReadInputFile(path);
  EXPECT_EQ(input.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(input.status().message(), HasSubstr(path));
}

TEST(ReadFileTest, LargerThanTheLimitIsRefused) {
  const std::string path = TestTempDir() + "/big.txt";
  WriteTestFile(path, std::string(1000, 'x'));
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
