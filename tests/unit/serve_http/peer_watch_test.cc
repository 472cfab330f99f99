#include "serve/http/peer_watch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace autoglm::serve::http {
namespace {

int port_of(int fd, bool peer) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  if (peer) {
    getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len);
  } else {
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  }
  return ntohs(a.sin_port);
}

TEST(PeerWatch, SeesTheClientClose) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  addr.sin_port = htons(static_cast<uint16_t>(port_of(listener, false)));
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const int server = accept(listener, nullptr, nullptr);
  ASSERT_GE(server, 0);

  PeerWatch watch("127.0.0.1", port_of(server, false), "127.0.0.1", port_of(server, true));
  ASSERT_TRUE(watch.found());
  EXPECT_FALSE(watch.closed());
  // Pipelined bytes from a live client are not a close, and are not consumed.
  ASSERT_EQ(write(client, "x", 1), 1);
  usleep(10000);
  EXPECT_FALSE(watch.closed());
  close(client);
  usleep(10000);
  EXPECT_TRUE(watch.closed());
  close(server);
  close(listener);
}

TEST(PeerWatch, UnknownConnectionNeverReportsClosed) {
  PeerWatch watch("127.0.0.1", 1, "127.0.0.1", 2);
  EXPECT_FALSE(watch.found());
  EXPECT_FALSE(watch.closed());
}

}  // namespace
}  // namespace autoglm::serve::http
