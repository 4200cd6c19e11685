// One proxied client connection: optional PROXY header -> locate -> affinity or ranked backends
// -> reserve a slot -> connect (next candidate on failure) -> splice both ways with half-close.
// Idle sockets hold no buffer: each direction waits for readability, reads into the worker's
// shared scratch buffer and writes at once; only bytes the peer cannot take yet are copied into
// a buffer of their own until they are written. A direction whose read once filled the scratch
// buffer is bulk: it then splices (socket -> pipe -> socket, splice(2)) through a pipe the worker
// lends while bytes move (bytes the peer cannot take yet wait in the pipe), and is batched: woken
// only once a full read is queued (SO_RCVLOWAT), or when it has waited up to kTailWait.
// Timers: `timer_` while waiting for a PROXY header (proxy.header_timeout) or a connect
// (proxy.connect_timeout); then the tail timer, armed when a batched bulk direction starts to
// wait for a full batch and not yet armed (kTailWait later, in connection.cc). Idleness is
// checked by the worker's sweep.
// Thread affinity: the worker's io_context.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <memory>

#include "hop/proxy/proxy_worker.h"
#include "pipe_pool.h"

namespace hop::proxy {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ProxyWorker& worker, boost::asio::ip::tcp::socket client, const ListenerConfig& listener);
  ~Connection();
  void start();
  // Closes both sockets and releases the backend slot; pending handlers then finish.
  void close();
  bool is_idle(std::uint32_t now_s, std::uint32_t idle_s) const { return now_s - last_active_s_ >= idle_s; }

  Connection* prev = nullptr;  // the worker's intrusive list
  Connection* next = nullptr;

 private:
  // One direction of the splice.
  struct Pump {
    boost::asio::ip::tcp::socket* from;
    boost::asio::ip::tcp::socket* to;
    std::unique_ptr<std::uint8_t[]> pending;  // copied: unwritten bytes, only while `to` is full
    std::uint32_t unwritten = 0;  // bytes read that `to` has not taken yet: in `pending` or `pipe`
    Pipe pipe;                    // spliced: lent by the worker while bytes move or wait in it
    bool to_backend;
    bool bulk = false;     // a read reached kBulkBytes: splice(2) from now on (if the worker can)
    bool batched = false;  // SO_RCVLOWAT is raised on `from`: woken once kBulkBytes are queued
    bool waiting = false;  // waiting for `from` to be readable
    bool done = false;
  };

  void read_proxy_header();
  void on_proxy_bytes(std::size_t n);
  void select_backends();
  // Reserves the client's bound backend as choices_[0] if it is still usable.
  bool use_affinity(const CompiledTable& table, const ClientKey& key);
  void try_next();
  void connect(const Choice& choice);
  void on_connect(const boost::system::error_code& ec, SlotIndex slot);
  // A `….hop` backend: after the TCP connect to the node's overlay gateway, the destination's name
  // goes out and one status byte comes back once the stream is up (services.h, OverlayGateway).
  void request_stream(const std::string& destination, SlotIndex slot);
  void start_splice();
  void wait_readable(Pump& pump);
  void arm_tail_timer();
  void on_tail_timer();
  void set_batched(Pump& pump, bool batched);
  void on_read(Pump& pump, std::size_t n);
  void on_read_error(Pump& pump);
  void pump_bytes(Pump& pump);
  void copy_bytes(Pump& pump);
  void splice_bytes(Pump& pump);
  // Moves the pipe's bytes on to `pump.to`; false when they wait for it to drain, or on close.
  bool drain_pipe(Pump& pump);
  void release_pipe(Pump& pump);
  void on_written(Pump& pump, const boost::system::error_code& ec);
  void finish(Pump& pump);
  void refuse(Refusal why);
  void release_slot();
  BackendState& state(SlotIndex slot) { return worker_.shared_.slots[slot]; }

  ProxyWorker& worker_;
  const ListenerConfig& listener_;
  boost::asio::ip::tcp::socket client_;
  boost::asio::ip::tcp::socket backend_;
  boost::asio::steady_timer timer_;
  IpAddress client_ip_;
  std::shared_ptr<const RoutingSnapshot> snapshot_;  // the table this connection chose from
  std::unique_ptr<std::uint8_t[]> header_;  // PROXY header bytes, then the client's first bytes
  std::size_t header_size_ = 0;
  std::size_t header_used_ = 0;  // bytes of header_ that were the header itself
  std::array<Choice, 8> choices_{};
  std::uint8_t choice_count_ = 0;
  std::uint8_t next_choice_ = 0;
  bool affinity_reserved_ = false;  // choices_[0] came from affinity and already holds a slot
  std::optional<SlotIndex> held_;   // the slot this connection holds
  core::TimePoint connect_started_{};
  std::uint32_t last_active_s_ = 0;
  bool timed_out_ = false;
  bool on_trial_ = false;  // this connection is the one trial of a half-open backend
  bool closed_ = false;
  bool tail_armed_ = false;  // timer_ is the tail timer, armed
  std::string overlay_request_;  // "<name>.hop\n" while asking the overlay gateway
  std::uint8_t overlay_status_ = 0;
  Pump up_{.from = &client_, .to = &backend_, .to_backend = true};
  Pump down_{.from = &backend_, .to = &client_, .to_backend = false};
};

}  // namespace hop::proxy
