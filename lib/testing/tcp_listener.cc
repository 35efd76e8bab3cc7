#include "lib/testing/tcp_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "gtest/gtest.h"

namespace coldstart::testing {

SilentTcpListener::SilentTcpListener() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), size), 0);
  EXPECT_EQ(listen(fd_, 16), 0);
  EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size), 0);
  port_ = ntohs(address.sin_port);
  fcntl(fd_, F_SETFL, O_NONBLOCK);
}

SilentTcpListener::~SilentTcpListener() { Close(); }

bool SilentTcpListener::Contacted() {
  if (fd_ < 0) return false;
  const int connection = accept(fd_, nullptr, nullptr);
  if (connection < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  close(connection);
  return true;
}

void SilentTcpListener::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

}  // namespace coldstart::testing
