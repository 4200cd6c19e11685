// The data path of a proxied connection on loopback: bulk transfers (which splice(2) and wait
// for full batches once a read fills the scratch buffer) arrive byte-exact, with their FIN, and
// are counted; a few bytes after a bulk transfer still get through; a receiver that reads slower
// than the sender sends gets every byte while the rest waits in the proxy.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "one_worker.h"

namespace hop::proxy {
namespace {

using hop::test::EchoBackend;
using hop::test::TestClient;

constexpr std::size_t kBulkBytes = 8 * 1024 * 1024;

// Byte `i` of every transfer: no period a 64 KiB or pipe-sized slip would hide.
char pattern(std::uint64_t i) { return static_cast<char>((i * 131) ^ (i >> 13) ^ (i >> 21)); }

std::string bytes_from(std::uint64_t offset, std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = pattern(offset + i);
  return out;
}

// Sends `payload` from another thread (then a FIN if `fin`) while reading its echo back; none
// if the send failed or the echo did not come.
std::optional<std::string> echo_of(TestClient& client, const std::string& payload, bool fin) {
  bool sent = false;
  std::thread sender([&] {
    sent = client.send(payload);
    if (fin) client.shutdown_send();  // the echo backend answers our FIN with its own
  });
  auto echoed = client.read_exactly(payload.size());
  sender.join();
  if (!sent) return std::nullopt;
  return echoed;
}

void set_timeouts(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A backend that takes its first connection only when asked and then reads it in small pieces:
// the listening socket's tiny receive buffer (inherited) keeps the proxy's writes blocking.
class SlowBackend {
 public:
  SlowBackend() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int tiny = 4096;
    ::setsockopt(listener_, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
    set_timeouts(listener_);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
    EXPECT_EQ(::listen(listener_, 4), 0);
    socklen_t len = sizeof at;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&at), &len);
    port_ = ntohs(at.sin_port);
  }
  ~SlowBackend() {
    if (socket_ >= 0) ::close(socket_);
    ::close(listener_);
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  bool accept_and_greet() {
    socket_ = ::accept(listener_, nullptr, nullptr);
    return socket_ >= 0 && ::send(socket_, "hi\n", 3, MSG_NOSIGNAL) == 3;
  }
  // Reads until EOF in 4 KiB pieces; returns the bytes read, counting those that break the pattern.
  std::uint64_t read_to_eof(std::uint64_t& wrong) {
    char buf[4096];
    std::uint64_t total = 0;
    while (true) {
      const ssize_t n = ::recv(socket_, buf, sizeof buf, 0);
      if (n <= 0) return n == 0 ? total : 0;  // 0 on a timeout or reset: the FIN never came
      for (ssize_t i = 0; i < n; ++i) wrong += buf[i] != pattern(total + static_cast<std::uint64_t>(i));
      total += static_cast<std::uint64_t>(n);
    }
  }
  void say_bye() {
    ::send(socket_, "bye\n", 4, MSG_NOSIGNAL);
    ::shutdown(socket_, SHUT_WR);
  }

 private:
  int listener_ = -1;
  int socket_ = -1;
  std::uint16_t port_ = 0;
};

TEST(Connection, ABulkEchoComesBackByteExactWithItsFinAndIsCounted) {
  EchoBackend backend("be-1");
  OneWorker proxy(backend, ProxyConfig{});
  TestClient client(proxy.port());
  ASSERT_TRUE(proxy.admitted(client));
  const std::string payload = bytes_from(0, kBulkBytes);
  const auto echoed = echo_of(client, payload, /*fin=*/true);
  ASSERT_TRUE(echoed.has_value());
  EXPECT_TRUE(*echoed == payload) << "the echo differs from what was sent";
  EXPECT_TRUE(client.closed_without_data()) << "the FIN came back";
  EXPECT_GE(proxy.spare_pipes(), 1u) << "a bulk direction splices and gives its pipe back";
  EXPECT_EQ(proxy.backend().bytes_to_backend(), kBulkBytes);
  EXPECT_EQ(proxy.backend().bytes_from_backend(), kBulkBytes + std::string("be-1\n").size());
}

TEST(Connection, AFewBytesAfterABulkTransferStillGetThrough) {
  EchoBackend backend("be-1");
  OneWorker proxy(backend, ProxyConfig{});
  TestClient client(proxy.port());
  ASSERT_TRUE(proxy.admitted(client));
  const std::string payload = bytes_from(0, kBulkBytes);
  const auto echoed = echo_of(client, payload, /*fin=*/false);
  ASSERT_TRUE(echoed.has_value() && *echoed == payload);
  // The bulk direction now waits for a full read's worth of bytes before it is woken; these few
  // must still come back, by the tail timer, long before the client's 5 s read timeout.
  EXPECT_TRUE(client.echoes("ping"));
  EXPECT_TRUE(client.echoes("and again"));
}

TEST(Connection, ASlowReceiverGetsEveryByteWhileTheRestWaitsInTheProxy) {
  SlowBackend backend;
  OneWorker proxy(backend.target(), ProxyConfig{});
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  set_timeouts(client);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(proxy.port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  ASSERT_TRUE(backend.accept_and_greet());
  char greeting[3];
  ASSERT_EQ(::recv(client, greeting, 3, MSG_WAITALL), 3) << "the proxy joined both sides";

  // Send without waiting until the socket takes no more: the backend reads nothing yet, so every
  // buffer on the way, the proxy's included, is full.
  ::fcntl(client, F_SETFL, ::fcntl(client, F_GETFL) | O_NONBLOCK);
  constexpr std::size_t kChunk = 64 * 1024;
  constexpr std::uint64_t kCap = 256ull * 1024 * 1024;
  std::uint64_t sent = 0;
  bool blocked = false;
  while (!blocked && sent < kCap) {
    const std::string chunk = bytes_from(sent, kChunk);
    const ssize_t n = ::send(client, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n > 0) sent += static_cast<std::uint64_t>(n);
    blocked = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    ASSERT_TRUE(n > 0 || blocked) << "send failed: " << std::strerror(errno);
  }
  ASSERT_TRUE(blocked) << "the proxy buffered " << sent << " bytes for a receiver that reads nothing";

  std::uint64_t wrong = 0;
  std::uint64_t received = 0;
  std::thread reader([&] {
    received = backend.read_to_eof(wrong);
    backend.say_bye();
  });
  ::fcntl(client, F_SETFL, ::fcntl(client, F_GETFL) & ~O_NONBLOCK);
  const std::uint64_t total = sent + kBulkBytes;
  bool sent_all = true;
  while (sent_all && sent < total) {
    const std::string chunk = bytes_from(sent, std::min<std::uint64_t>(kChunk, total - sent));
    const ssize_t n = ::send(client, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    sent_all = n > 0;
    if (n > 0) sent += static_cast<std::uint64_t>(n);
  }
  ::shutdown(client, SHUT_WR);
  reader.join();
  char reply[5] = {};
  const ssize_t got = ::recv(client, reply, 4, MSG_WAITALL);
  char after = 0;
  const ssize_t eof = ::recv(client, &after, 1, 0);
  ::close(client);

  ASSERT_TRUE(sent_all);
  EXPECT_EQ(received, total) << "0: the FIN did not reach the backend";
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(got, 4);
  EXPECT_STREQ(reply, "bye\n");
  EXPECT_EQ(eof, 0) << "the backend's FIN came back through";
  EXPECT_GE(proxy.spare_pipes(), 1u) << "the bulk direction spliced";
  EXPECT_EQ(proxy.backend().bytes_to_backend(), total);
  EXPECT_EQ(proxy.backend().bytes_from_backend(), 7u);
}

}  // namespace
}  // namespace hop::proxy
