// A TCP port on 127.0.0.1 that listens but never answers: a test points a
// tool at it to prove the tool made (or did not make) a connection, or
// closes it to get a port that refuses connections.
#ifndef COLDSTART_LIB_TESTING_TCP_LISTENER_H_
#define COLDSTART_LIB_TESTING_TCP_LISTENER_H_

namespace coldstart::testing {

class SilentTcpListener {
 public:
  // Binds 127.0.0.1 on a free port; failures fail the current test.
  SilentTcpListener();
  ~SilentTcpListener();
  SilentTcpListener(const SilentTcpListener&) = delete;
  SilentTcpListener& operator=(const SilentTcpListener&) = delete;

  int port() const { return port_; }
  // Whether a connection is waiting to be accepted (it is then closed).
  bool Contacted();
  // Stops listening: afterwards the port refuses connections.
  void Close();

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace coldstart::testing

#endif  // COLDSTART_LIB_TESTING_TCP_LISTENER_H_
