#include "connection.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cstring>

namespace hop::proxy {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr std::size_t kReadsPerWake = 8;  // then yield to the worker's other connections
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
  pump.from->async_wait(asio::socket_base::wait_read, [self = shared_from_this(), &pump](const error_code& ec) {
    if (self->closed_) return;
    if (ec) return self->close();
    self->pump_bytes(pump);
  });
}

void Connection::pump_bytes(Pump& pump) {
  std::uint8_t* buffer = worker_.scratch_.get();
  BackendState& st = state(*held_);
  for (std::size_t round = 0; round < kReadsPerWake; ++round) {
    error_code ec;
    const std::size_t n = pump.from->read_some(asio::buffer(buffer, ProxyWorker::kScratchBytes), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return wait_readable(pump);
    if (ec == asio::error::eof) return finish(pump);
    if (ec) {
      if (!pump.to_backend) st.on_error(BackendError::kReset, worker_.now(), BreakerPolicy{});
      return close();
    }
    last_active_s_ = coarse_seconds(worker_.now());
    pump.to_backend ? st.add_bytes_to_backend(n) : st.add_bytes_from_backend(n);
    std::size_t written = pump.to->write_some(asio::buffer(buffer, n), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      written = 0;
    } else if (ec) {
      return close();
    }
    if (written < n) {  // the receiver is slow: keep the rest until it takes it
      pump.pending_size = n - written;
      pump.pending = std::make_unique<std::uint8_t[]>(pump.pending_size);
      std::memcpy(pump.pending.get(), buffer + written, pump.pending_size);
      asio::async_write(*pump.to, asio::buffer(pump.pending.get(), pump.pending_size),
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

void Connection::on_written(Pump& pump, const error_code& ec) {
  pump.pending.reset();
  pump.pending_size = 0;
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
