#include "lib/cli/atomic_file.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "lib/cli/cluster_textproto.h"
#include "lib/testing/files.h"

namespace coldstart {
namespace {

using ::coldstart::testing::ReadTestFile;
using ::coldstart::testing::TestTempDir;

TEST(AtomicFileTest, WritesAndReplacesKeepingMode) {
  const std::string path = TestTempDir() + "/replace.txt";
  ASSERT_TRUE(WriteFileAtomically(path, "one").ok());
  EXPECT_EQ(ReadTestFile(path), "one");
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  ASSERT_TRUE(WriteFileAtomically(path, "two").ok());
  EXPECT_EQ(ReadTestFile(path), "two");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST(AtomicFileTest, SecretFileIs0600EvenWhenTheOldFileWasReadable) {
  const std::string path = TestTempDir() + "/secret.key";
  ASSERT_TRUE(WriteFileAtomically(path, "old").ok());
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(WriteSecretFileAtomically(path, "key").ok());
  EXPECT_EQ(ReadTestFile(path), "key");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST(AtomicFileTest, MissingDirectoryIsAnError) {
  absl::Status status = WriteFileAtomically("/nonexistent/dir/x", "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
}

TEST(AtomicFileTest, LockIsExclusive) {
  const std::string path = TestTempDir() + "/state.lock";
  absl::StatusOr<FileLock> first = FileLock::Acquire(path, false);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<FileLock> second = FileLock::Acquire(path, false);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  *first = std::move(*FileLock::Acquire(TestTempDir() + "/other.lock", false));
  EXPECT_TRUE(FileLock::Acquire(path, false).ok());  // released on reassign
}

// Two large, different, complete states.
std::string BigState(int nodes, const std::string& name) {
  absl::StatusOr<ParsedCluster> parsed =
      ReadClusterFile("testdata/agentydragon.txtpb");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  coldstart::v1::Cluster cluster = parsed->cluster;
  cluster.mutable_spec()->set_name(name);
  const coldstart::v1::Node prototype = cluster.spec().nodes(0);
  for (int i = 0; i < nodes; ++i) {
    coldstart::v1::Node* node = cluster.mutable_spec()->add_nodes();
    *node = prototype;
    node->set_name(name + "-" + std::to_string(i));
    node->set_vmid(10000 + i);
  }
  return ClusterToText(cluster);
}

// A child rewrites the state file over and over; it is SIGKILLed at random
// points. Every time, the file must parse and be one of the complete
// versions.
TEST(AtomicFileTest, KillDuringWriteNeverTearsTheFile) {
  const std::string path = TestTempDir() + "/torn.txtpb";
  const std::string versions[] = {BigState(4000, "alpha"),
                                  BigState(3000, "beta")};
  ASSERT_GT(versions[0].size(), 1000000u);
  ASSERT_TRUE(WriteFileAtomically(path, versions[0]).ok());
  std::mt19937 rng(42);
  int kills_mid_write = 0;
  for (int round = 0; round < 25; ++round) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(ready[0]);
      for (long i = 0;; ++i) {
        if (!WriteFileAtomically(path, versions[i % 2]).ok()) _exit(3);
        if (i == 0) {
          (void)!write(ready[1], "x", 1);
        }
      }
    }
    close(ready[1]);
    char byte;
    ASSERT_EQ(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    usleep(std::uniform_int_distribution<int>(0, 20000)(rng));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own: " << status;
    ++kills_mid_write;
    const std::string content = ReadTestFile(path);
    EXPECT_TRUE(content == versions[0] || content == versions[1])
        << "round " << round << ": torn file of " << content.size() << " bytes";
    EXPECT_TRUE(ParseClusterText(content, path).ok()) << "round " << round;
  }
  EXPECT_EQ(kills_mid_write, 25);
}

}  // namespace
}  // namespace coldstart
