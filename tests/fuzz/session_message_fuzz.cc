// Session messages on untrusted bytes (docs/sessions.md): peek_session_message, accept_session
// (fixed responder keys) and SessionCipher::open never crash, and what they accept keeps the
// spec's shapes. Each input is also sealed as a payload and must open to itself exactly once.
// The seed corpus holds an INIT sealed to the fixed responder below, carrying the fixed
// initiator's LeaseSet published at kNow (any change to either breaks the seeds).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "hop/tunnels/session_crypto.h"

namespace {

using namespace hop;
using namespace std::chrono_literals;

const core::WallTime kNow{std::chrono::seconds(1'800'000'000)};

netdb::Destination fixed_destination(std::uint8_t seed) {
  core::crypto::Key32 signing_seed;
  core::crypto::Key32 encryption_secret;
  signing_seed.fill(seed);
  encryption_secret.fill(static_cast<std::uint8_t>(seed + 1));
  return netdb::Destination::from_secrets(signing_seed, encryption_secret);
}

const netdb::Destination& responder() {
  static const netdb::Destination d = fixed_destination(0x31);
  return d;
}

const netdb::LeaseSetVerifyContext& context() {
  static const netdb::LeaseSetVerifyContext ctx{.now = kNow};
  return ctx;
}

// An established session between the fixed initiator and responder, and a handshake left
// pending; made once per process.
struct Fixture {
  std::optional<tunnels::SessionCipher> at_initiator;
  std::optional<tunnels::SessionCipher> at_responder;
  std::optional<tunnels::InitiatorHandshake> pending;
};

Fixture make_fixture() {
  const netdb::Destination initiator = fixed_destination(0x33);
  core::RouterHash gateway;
  gateway.bytes.fill(7);
  auto lease_set = netdb::sign_lease_set(initiator, {{gateway, 1234, kNow + 10min}}, kNow);
  if (!lease_set) __builtin_trap();
  auto hs = tunnels::InitiatorHandshake::start(initiator, lease_set->wire, responder().public_keys(), 1);
  if (!hs) __builtin_trap();
  auto accepted = tunnels::accept_session(responder(), hs->init_message(), context(), 2);
  if (!accepted) __builtin_trap();
  auto cipher = hs->on_accept(accepted->accept_message);
  if (!cipher) __builtin_trap();
  auto pending = tunnels::InitiatorHandshake::start(initiator, lease_set->wire, responder().public_keys(), 3);
  if (!pending) __builtin_trap();
  Fixture f;
  f.at_initiator.emplace(std::move(*cipher));
  f.at_responder.emplace(std::move(accepted->cipher));
  f.pending.emplace(std::move(*pending));
  return f;
}

Fixture& fixture() {
  static Fixture f = make_fixture();
  return f;
}

void check_header(const tunnels::SessionHeader& h, std::size_t size) {
  using tunnels::SessionMessageKind;
  switch (h.kind) {
    case SessionMessageKind::kInit:
      if (h.receiver != 0 || size > tunnels::kMaxInitMessage) __builtin_trap();
      return;
    case SessionMessageKind::kAccept:
      if (h.receiver == 0 || size != tunnels::kAcceptSize) __builtin_trap();
      return;
    case SessionMessageKind::kData:
      if (h.receiver == 0 || size < tunnels::kDataHeaderSize + 16 || size > tunnels::kMaxSessionMessage) {
        __builtin_trap();
      }
      return;
  }
  __builtin_trap();
}

void check_accepted(const tunnels::AcceptedSession& a) {
  if (a.cipher.local_id() != 9 || a.cipher.remote_id() == 0) __builtin_trap();
  auto answer = tunnels::peek_session_message(a.accept_message);
  if (!answer || answer->kind != tunnels::SessionMessageKind::kAccept || answer->receiver != a.cipher.remote_id()) {
    __builtin_trap();
  }
  if (a.initiator_lease_set.lease_set.leases.empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const core::ByteView input(data, size);
  Fixture& f = fixture();

  auto header = tunnels::peek_session_message(input);
  if (header) check_header(*header, size);
  auto accepted = tunnels::accept_session(responder(), input, context(), 9);
  if (accepted) {
    if (!header || header->kind != tunnels::SessionMessageKind::kInit) __builtin_trap();
    check_accepted(*accepted);
  }
  if (auto opened = f.at_responder->open(input); opened && opened->size() + tunnels::kDataHeaderSize + 16 != size) {
    __builtin_trap();
  }
  (void)f.pending->on_accept(input);  // never completes: no one else holds its keys

  // The input as a payload: opens to itself, once.
  const auto payload = input.first(std::min(size, tunnels::kMaxSessionPayload));
  const auto sealed = f.at_initiator->seal(payload);
  auto opened = f.at_responder->open(sealed);
  if (!opened || !std::equal(opened->begin(), opened->end(), payload.begin(), payload.end())) __builtin_trap();
  if (f.at_responder->open(sealed)) __builtin_trap();
  return 0;
}
