// Notices that an HTTP client has gone away while its handler still waits for the engine.
// cpp-httplib 0.11 gives handlers no socket, so the connection's socket is found once by its
// address pair, then polled: end-of-stream or an error means the client closed the connection.
#pragma once

#include <string>

namespace autoglm::serve::http {

class PeerWatch {
 public:
  // Finds this process's TCP socket connected local_addr:local_port <-> remote_addr:remote_port.
  // Without a match (e.g. a Unix socket) closed() stays false.
  PeerWatch(const std::string& local_addr, int local_port, const std::string& remote_addr,
            int remote_port);
  bool found() const { return fd_ >= 0; }
  // True once the peer has closed or reset the connection. Never consumes data.
  bool closed() const;

 private:
  int fd_ = -1;
};

}  // namespace autoglm::serve::http
