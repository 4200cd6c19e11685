#include "connection.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cstring>

#include <fcntl.h>

namespace hop::proxy {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr std::size_t kReadsPerWake = 8;  // then yield to the worker's other connections
// A read this large makes a direction bulk: it splices from then on, and is woken only once this
// much is queued (SO_RCVLOWAT). Every wake-up of a worker that sleeps costs the sender a
// cross-CPU wake; fewer, fuller ones leave it more time to send.
constexpr std::size_t kBulkBytes = ProxyWorker::kScratchBytes;
// A bulk direction waiting for a full batch takes what is queued within this long: its sender
// may have paused with fewer bytes than that, which on their own would never wake us.
constexpr auto kTailWait = std::chrono::milliseconds(1);
constexpr std::size_t kHeaderBuffer = kProxyV2FixedBytes + kMaxProxyV2Payload;

IpAddress from_asio(const asio::ip::address& a) {
  if (a.is_v4()) return IpAddress::v4(a.to_v4().to_uint());
  return IpAddress::v6(a.to_v6().to_bytes());  // a mapped ::ffff:a.b.c.d already is our IPv4 form
}

asio::ip::address to_asio(const IpAddress& a) {
  if (a.is_v4()) return asio::ip::address_v4(a.v4_host_order());
  return asio::ip::address_v6(a.bytes);
}

}  // namespace

Connection::Connection(ProxyWorker& worker, asio::ip::tcp::socket client, const ListenerConfig& listener)
    : worker_(worker), listener_(listener), client_(std::move(client)), backend_(worker.io_), timer_(worker.io_),
      last_active_s_(coarse_seconds(worker.now())) {
  worker_.link(this);
}

Connection::~Connection() {
  release_slot();
  worker_.shared_.counters.on_closed();
  worker_.unlink(this);
}

void Connection::start() {
  error_code ec;
  const auto peer = client_.remote_endpoint(ec);
  if (ec) return close();  // the client left before we looked
  client_ip_ = from_asio(peer.address());
  client_.set_option(asio::ip::tcp::no_delay(true), ec);
  client_.non_blocking(true, ec);
  if (listener_.proxy_protocol) return read_proxy_header();
  select_backends();
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  client_.close(ec);
  backend_.close(ec);
  timer_.cancel();
  release_pipe(up_);
  release_pipe(down_);
  release_slot();
}

void Connection::release_slot() {
  if (!held_) return;
  state(*held_).release();
  held_.reset();
}

void Connection::refuse(Refusal why) {
  worker_.shared_.counters.on_refused(why);
  SPDLOG_DEBUG("proxy: closing client {}: {}", to_string(client_ip_), to_string(why));
  close();
}

void Connection::read_proxy_header() {
  header_ = std::make_unique<std::uint8_t[]>(kHeaderBuffer);
  timer_.expires_after(worker_.shared_.limits.header_timeout());
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->closed_ || !self->header_ || self->header_used_ != 0) return;
    self->refuse(Refusal::kHeaderTimeout);
  });
  client_.async_read_some(asio::buffer(header_.get() + header_size_, kHeaderBuffer - header_size_),
                          [self = shared_from_this()](const error_code& ec, std::size_t n) {
                            if (self->closed_) return;
                            if (ec) return self->close();
                            self->on_proxy_bytes(n);
                          });
}

void Connection::on_proxy_bytes(std::size_t n) {
  header_size_ += n;
  auto decoded = decode_proxy_header(core::ByteView(header_.get(), header_size_), *listener_.proxy_protocol);
  if (!decoded) {
    SPDLOG_DEBUG("proxy: client {}: {}", to_string(client_ip_), decoded.error().message());
    return refuse(Refusal::kProxyHeader);
  }
  if (std::holds_alternative<ProxyNeedMore>(*decoded)) {
    if (header_size_ == kHeaderBuffer) return refuse(Refusal::kProxyHeader);
    client_.async_read_some(asio::buffer(header_.get() + header_size_, kHeaderBuffer - header_size_),
                            [self = shared_from_this()](const error_code& ec, std::size_t more) {
                              if (self->closed_) return;
                              if (ec) return self->close();
                              self->on_proxy_bytes(more);
                            });
    return;
  }
  const auto& header = std::get<ProxyHeader>(*decoded);
  header_used_ = header.length;
  timer_.cancel();
  if (header.endpoints) client_ip_ = header.endpoints->source;  // LOCAL keeps the socket's own
  if (header_used_ == header_size_) header_.reset();
  select_backends();
}

void Connection::select_backends() {
  ProxyShared& shared = worker_.shared_;
  const core::TimePoint started = worker_.now();
  snapshot_ = worker_.snapshot_;
  if (!snapshot_ || !snapshot_->table) return refuse(Refusal::kNoBackend);
  if (!shared.rate.allow(client_ip_, started)) return refuse(Refusal::kClientRate);
  const CompiledTable& table = *snapshot_->table;
  const Place place = locate(*snapshot_, client_ip_, &shared.counters);
  const auto served = table.candidates_for(listener_.app);
  const std::size_t tries = std::clamp<std::size_t>(shared.limits.connect_tries(), 1, choices_.size());
  const ClientKey key = table.key_of(place);
  std::size_t first = use_affinity(table, key) ? 1 : 0;
  std::size_t ranked = rank_backends(table, key, served, shared.slots, started, worker_.tiebreak_++,
                                     std::span<Choice>(choices_).subspan(first, tries - first));
  if (first == 1 && ranked > 0 && choices_[1].tier < choices_[0].tier) {
    // Bound while the client's own tier had nothing to give (a spill); now it has again.
    release_slot();
    affinity_reserved_ = false;
    shared.affinity.forget(client_ip_);
    std::move(choices_.begin() + 1, choices_.begin() + 1 + ranked, choices_.begin());
    first = 0;
  } else if (first == 1) {  // the bound backend is already first; don't try it twice
    shared.counters.on_affinity_hit();
    const auto end = std::remove_if(choices_.begin() + 1, choices_.begin() + 1 + ranked,
                                    [&](const Choice& c) { return c.slot == choices_[0].slot; });
    ranked = static_cast<std::size_t>(end - (choices_.begin() + 1));
  }
  choice_count_ = static_cast<std::uint8_t>(first + ranked);
  shared.counters.on_selection(worker_.now() - started);
  try_next();
}

bool Connection::use_affinity(const CompiledTable& table, const ClientKey& key) {
  ProxyShared& shared = worker_.shared_;
  const core::TimePoint now = worker_.now();
  const auto slot = shared.affinity.find(client_ip_, now);
  if (!slot) return false;
  const auto index = table.index_of_slot(*slot);
  const bool usable = index && serves(table.table().backends[*index], listener_.app) &&
                      table.table().backends[*index].healthy &&
                      (table.table().backends[*index].target.kind == BackendTarget::Kind::kDirect ||
                       table.policy().overlay_streams) &&
                      state(*slot).breaker(now, table.policy().breaker) == Breaker::kClosed &&
                      state(*slot).try_reserve(table.table().backends[*index].hard_limit);
  if (!usable) {  // gone, unhealthy, failing or full: the binding goes with it
    shared.affinity.forget(client_ip_);
    return false;
  }
  held_ = *slot;
  affinity_reserved_ = true;
  choices_[0] = {*index, *slot, tier_of(table, key, *index).value_or(Tier::kOther), 0};
  return true;
}

void Connection::try_next() {
  const CompiledTable& table = *snapshot_->table;
  const core::TimePoint now = worker_.now();
  while (next_choice_ < choice_count_) {
    const Choice& choice = choices_[next_choice_++];
    if (next_choice_ == 1 && affinity_reserved_) return connect(choice);
    BackendState& st = state(choice.slot);
    const bool half_open = st.breaker(now, table.policy().breaker) == Breaker::kHalfOpen;
    if (half_open && !st.try_begin_trial()) continue;
    if (!st.try_reserve(table.table().backends[choice.backend].hard_limit)) {
      if (half_open) st.end_trial();
      continue;
    }
    on_trial_ = half_open;
    held_ = choice.slot;
    return connect(choice);
  }
  refuse(choice_count_ == 0 ? Refusal::kNoBackend : Refusal::kAllFailed);
}

void Connection::connect(const Choice& choice) {
  const Backend& backend = snapshot_->table->table().backends[choice.backend];
  timed_out_ = false;
  connect_started_ = worker_.now();
  timer_.expires_after(worker_.shared_.limits.connect_timeout());
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->closed_) return;
    self->timed_out_ = true;
    error_code ignored;
    self->backend_.close(ignored);  // the connect handler sees operation_aborted
  });
  if (backend.target.kind == BackendTarget::Kind::kDestination) {
    // Selection offers destination backends only when the node runs an overlay gateway.
    const asio::ip::tcp::endpoint gateway(asio::ip::address_v4::loopback(), worker_.shared_.config.overlay_gateway_port);
    backend_.async_connect(gateway, [self = shared_from_this(), slot = choice.slot,
                                     name = backend.target.destination](const error_code& ec) {
      if (ec || self->closed_) return self->on_connect(ec, slot);
      self->request_stream(name, slot);
    });
    return;
  }
  const asio::ip::tcp::endpoint target(to_asio(backend.target.address), backend.target.port);
  backend_.async_connect(target, [self = shared_from_this(), slot = choice.slot](const error_code& ec) {
    self->on_connect(ec, slot);
  });
}

void Connection::request_stream(const std::string& destination, SlotIndex slot) {
  overlay_request_ = destination + "\n";
  asio::async_write(backend_, asio::buffer(overlay_request_), [self = shared_from_this(), slot](const error_code& ec, std::size_t) {
    if (ec || self->closed_) return self->on_connect(ec ? ec : asio::error::operation_aborted, slot);
    asio::async_read(self->backend_, asio::buffer(&self->overlay_status_, 1),
                     [self, slot](const error_code& read_ec, std::size_t) {
                       self->overlay_request_ = {};
                       // No 'Y': the destination could not be reached (the gateway closed).
                       const bool up = !read_ec && self->overlay_status_ == 'Y';
                       self->on_connect(up ? error_code{} : asio::error::connection_refused, slot);
                     });
  });
}

void Connection::on_connect(const error_code& ec, SlotIndex slot) {
  timer_.cancel();
  if (closed_) {
    if (on_trial_) state(slot).end_trial();  // a half-open backend must not wait for this outcome
    return;
  }
  ProxyShared& shared = worker_.shared_;
  const core::TimePoint now = worker_.now();
  if (ec) {
    const BackendError kind = timed_out_ ? BackendError::kConnectTimeout
                              : ec == asio::error::connection_refused ? BackendError::kConnectRefused
                                                                       : BackendError::kConnectOther;
    state(slot).on_error(kind, now, snapshot_->table->policy().breaker);
    SPDLOG_DEBUG("proxy: backend slot {}: {}", slot, to_string(kind));
    release_slot();
    error_code ignored;
    backend_.close(ignored);
    return try_next();
  }
  state(slot).on_connected(now - connect_started_);
  shared.affinity.bind(client_ip_, slot, now);
  error_code ignored;
  backend_.set_option(asio::ip::tcp::no_delay(true), ignored);
  backend_.non_blocking(true, ignored);
  snapshot_.reset();  // a long connection must not pin an old table
  start_splice();
}

void Connection::start_splice() {
  if (header_) {  // the client's first bytes arrived with its PROXY header
    asio::async_write(backend_, asio::buffer(header_.get() + header_used_, header_size_ - header_used_),
                      [self = shared_from_this()](const error_code& ec, std::size_t n) {
                        if (self->closed_) return;
                        if (ec) return self->close();
                        self->state(*self->held_).add_bytes_to_backend(n);
                        self->header_.reset();
                        self->start_splice();
                      });
    return;
  }
  pump_bytes(up_);
  pump_bytes(down_);
}

void Connection::wait_readable(Pump& pump) {
  if (pump.batched && !tail_armed_) arm_tail_timer();
  pump.waiting = true;
  pump.from->async_wait(asio::socket_base::wait_read, [self = shared_from_this(), &pump](const error_code& ec) {
    pump.waiting = false;
    if (self->closed_) return;
    if (ec) return self->close();
    self->pump_bytes(pump);
  });
}

void Connection::arm_tail_timer() {
  tail_armed_ = true;
  timer_.expires_after(kTailWait);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    self->tail_armed_ = false;
    if (ec || self->closed_) return;
    self->on_tail_timer();
  });
}

void Connection::on_tail_timer() {
  // A batched direction waiting now has waited at most kTailWait: if it is still streaming, its
  // next full read batches it again; if its sender paused, the kernel wakes us at once for the
  // bytes that are queued.
  for (Pump* pump : {&up_, &down_}) {
    if (pump->waiting && pump->batched) set_batched(*pump, false);
  }
}

void Connection::set_batched(Pump& pump, bool batched) {
  error_code ec;
  pump.from->set_option(asio::socket_base::receive_low_watermark(batched ? static_cast<int>(kBulkBytes) : 1), ec);
  if (!ec) pump.batched = batched;  // if lowering failed, the next tail timer tries again
}

void Connection::on_read(Pump& pump, std::size_t n) {
  last_active_s_ = coarse_seconds(worker_.now());
  BackendState& st = state(*held_);
  pump.to_backend ? st.add_bytes_to_backend(n) : st.add_bytes_from_backend(n);
  if (n < kBulkBytes) return;
  pump.bulk = true;
  if (!pump.batched) set_batched(pump, true);
}

void Connection::on_read_error(Pump& pump) {
  if (!pump.to_backend) state(*held_).on_error(BackendError::kReset, worker_.now(), BreakerPolicy{});
  close();
}

void Connection::pump_bytes(Pump& pump) {
  if (pump.bulk && !pump.pipe.is_open() && worker_.splices_) pump.pipe = worker_.pipes_->take();
  if (pump.pipe.is_open()) return splice_bytes(pump);
  copy_bytes(pump);  // not bulk, or no pipe to be had (out of descriptors): copy this time
}

void Connection::copy_bytes(Pump& pump) {
  std::uint8_t* buffer = worker_.scratch_.get();
  for (std::size_t round = 0; round < kReadsPerWake; ++round) {
    error_code ec;
    const std::size_t n = pump.from->read_some(asio::buffer(buffer, ProxyWorker::kScratchBytes), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return wait_readable(pump);
    if (ec == asio::error::eof) return finish(pump);
    if (ec) return on_read_error(pump);
    on_read(pump, n);
    std::size_t written = pump.to->write_some(asio::buffer(buffer, n), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      written = 0;
    } else if (ec) {
      return close();
    }
    if (written < n) {  // the receiver is slow: keep the rest until it takes it
      pump.unwritten = static_cast<std::uint32_t>(n - written);
      pump.pending = std::make_unique<std::uint8_t[]>(pump.unwritten);
      std::memcpy(pump.pending.get(), buffer + written, pump.unwritten);
      asio::async_write(*pump.to, asio::buffer(pump.pending.get(), pump.unwritten),
                        [self = shared_from_this(), &pump](const error_code& wec, std::size_t) {
                          self->on_written(pump, wec);
                        });
      return;
    }
  }
  asio::post(worker_.io_, [self = shared_from_this(), &pump] {
    if (!self->closed_) self->pump_bytes(pump);
  });
}

void Connection::splice_bytes(Pump& pump) {
  for (std::size_t round = 0; round < kReadsPerWake; ++round) {
    // The pipe is empty here (drained before every read), so EAGAIN means the socket has nothing.
    const ssize_t n = ::splice(pump.from->native_handle(), nullptr, pump.pipe.write_end(), nullptr,
                               PipePool::kPipeBytes, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      release_pipe(pump);  // a waiting direction holds no pipe
      return wait_readable(pump);
    }
    if (n == 0) {
      release_pipe(pump);
      return finish(pump);
    }
    if (n < 0) return on_read_error(pump);
    on_read(pump, static_cast<std::size_t>(n));
    pump.unwritten = static_cast<std::uint32_t>(n);
    if (!drain_pipe(pump)) return;
  }
  asio::post(worker_.io_, [self = shared_from_this(), &pump] {
    if (!self->closed_) self->pump_bytes(pump);
  });
}

bool Connection::drain_pipe(Pump& pump) {
  while (pump.unwritten > 0) {
    const ssize_t n = ::splice(pump.pipe.read_end(), nullptr, pump.to->native_handle(), nullptr, pump.unwritten,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      pump.unwritten -= static_cast<std::uint32_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {  // the receiver is slow: the rest waits in the pipe
      pump.to->async_wait(asio::socket_base::wait_write, [self = shared_from_this(), &pump](const error_code& ec) {
        if (self->closed_) return;
        if (ec) return self->close();
        if (self->drain_pipe(pump)) self->pump_bytes(pump);
      });
      return false;
    } else {  // EPIPE, ECONNRESET: SIGPIPE is ignored (ProxyWorker::splices_)
      close();
      return false;
    }
  }
  return true;
}

void Connection::release_pipe(Pump& pump) {
  if (!pump.pipe.is_open()) return;
  if (pump.unwritten == 0) worker_.pipes_->give_back(std::move(pump.pipe));
  pump.pipe = Pipe();  // one still holding bytes is closed with them
  pump.unwritten = 0;
}

void Connection::on_written(Pump& pump, const error_code& ec) {
  pump.pending.reset();
  pump.unwritten = 0;
  if (closed_) return;
  if (ec) return close();
  pump_bytes(pump);  // there may be more already: read before waiting
}

void Connection::finish(Pump& pump) {
  pump.done = true;
  error_code ec;
  pump.to->shutdown(asio::socket_base::shutdown_send, ec);  // half-close: pass the FIN on
  if (up_.done && down_.done) close();
}

}  // namespace hop::proxy
