#include "hop/netdb/router_info.h"

#include <cstring>

#include "hop/netdb/constants.h"
#include "hop/netdb/errors.h"
#include "hop/v1/netdb.pb.h"
#include "record_codec.h"

namespace hop::netdb {
namespace {

constexpr std::string_view kSignatureLabel = "hopline-routerinfo-v1";

std::int64_t to_ms(core::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

core::Error refuse(Refusal r, Refusal* out, const std::string& detail) {
  if (out) *out = r;
  return core::make_error(Errc::kRefused, std::string(to_string(r)) + (detail.empty() ? "" : ": " + detail));
}

}  // namespace

std::string_view to_string(Refusal r) {
  switch (r) {
    case Refusal::kTooLarge: return "too-large";
    case Refusal::kMalformed: return "malformed";
    case Refusal::kHashMismatch: return "hash-mismatch";
    case Refusal::kBadIdentity: return "bad-identity";
    case Refusal::kBadSignature: return "bad-signature";
    case Refusal::kForeignNetwork: return "foreign-network";
    case Refusal::kFromFuture: return "from-future";
    case Refusal::kExpired: return "expired";
  }
  return "unknown";
}

std::optional<transport::PeerContact> RouterInfo::contact() const {
  for (const auto& a : addresses) {
    if (a.transport != "tcp") continue;
    transport::PeerContact c;
    c.host = a.host;
    c.port = a.port;
    c.static_key = identity.static_key;
    c.hash = hash();
    return c;
  }
  return std::nullopt;
}

SignedRouterInfo sign_router_info(const core::Identity& identity, RouterInfo info) {
  info.identity = identity.public_identity();
  hop::v1::RouterInfoBody body;
  body.set_router_hash(as_string(identity.hash().bytes));
  body.set_signing_key(as_string(info.identity.signing_key));
  body.set_static_key(as_string(info.identity.static_key));
  body.set_certificate(as_string(info.identity.certificate));
  for (const auto& a : info.addresses) {
    auto* pa = body.add_addresses();
    pa->set_transport(a.transport);
    pa->set_host(a.host);
    pa->set_port(a.port);
  }
  body.set_bandwidth_kbps(info.bandwidth_kbps);
  body.set_floodfill(info.floodfill);
  body.set_region(info.region);
  body.set_network_id(info.network_id);
  body.set_published_ms(static_cast<std::uint64_t>(to_ms(info.published)));
  const std::string body_bytes = body.SerializeAsString();
  const auto sig = identity.sign(signed_message(kSignatureLabel, core::as_bytes(body_bytes)));
  hop::v1::SignedRouterInfo envelope;
  envelope.set_body(body_bytes);
  envelope.set_signature(as_string(sig));
  const std::string wire = envelope.SerializeAsString();
  return {std::move(info), core::Bytes(wire.begin(), wire.end())};
}

core::Result<SignedRouterInfo> verify_router_info(core::ByteView wire, const VerifyContext& context,
                                                  Refusal* refusal) {
  if (wire.size() > kMaxRouterInfoSize) {
    return refuse(Refusal::kTooLarge, refusal, std::to_string(wire.size()) + " bytes");
  }
  hop::v1::SignedRouterInfo envelope;
  hop::v1::RouterInfoBody body;
  if (!envelope.ParseFromArray(wire.data(), static_cast<int>(wire.size())) ||
      !body.ParseFromString(envelope.body())) {
    return refuse(Refusal::kMalformed, refusal, "does not parse");
  }
  RouterInfo info;
  core::RouterHash stated;
  core::crypto::Signature signature;
  if (!copy_exact(body.router_hash(), stated.bytes) || !copy_exact(body.signing_key(), info.identity.signing_key) ||
      !copy_exact(body.static_key(), info.identity.static_key) ||
      !copy_exact(body.certificate(), info.identity.certificate) || !copy_exact(envelope.signature(), signature)) {
    return refuse(Refusal::kMalformed, refusal, "wrong key or signature size");
  }
  if (body.addresses_size() > static_cast<int>(kMaxAddresses) || body.region().size() > kMaxRegionLength) {
    return refuse(Refusal::kMalformed, refusal, "too many addresses or region too long");
  }
  for (const auto& pa : body.addresses()) {
    auto addr = transport::parse_ip(pa.host());
    if (!addr || pa.port() == 0 || pa.port() > 65535 || pa.transport().size() > 16) {
      return refuse(Refusal::kMalformed, refusal, "bad address");
    }
    info.addresses.push_back({pa.transport(), *addr, static_cast<std::uint16_t>(pa.port())});
  }
  if (stated != info.hash()) return refuse(Refusal::kHashMismatch, refusal, "stated hash is not the keys' hash");
  if (context.expected_hash && *context.expected_hash != stated) {
    return refuse(Refusal::kHashMismatch, refusal, "not the router asked for");
  }
  if (!info.identity.verify()) return refuse(Refusal::kBadIdentity, refusal, "");
  if (!core::crypto::verify(info.identity.signing_key, signed_message(kSignatureLabel, core::as_bytes(envelope.body())), signature)) {
    return refuse(Refusal::kBadSignature, refusal, stated.short_string());
  }
  if (body.network_id() != context.network_id) {
    return refuse(Refusal::kForeignNetwork, refusal, "network " + std::to_string(body.network_id()));
  }
  info.network_id = body.network_id();
  info.published = core::WallTime(std::chrono::duration_cast<core::WallTime::duration>(
      std::chrono::milliseconds(static_cast<std::int64_t>(body.published_ms() & 0x7fffffffffffffffULL))));
  if (context.check_age && info.published > context.now + kMaxClockSkew) {
    return refuse(Refusal::kFromFuture, refusal, "");
  }
  if (context.check_age && info.published + kRouterInfoMaxAge < context.now) {
    return refuse(Refusal::kExpired, refusal, "");
  }
  info.bandwidth_kbps = body.bandwidth_kbps();
  info.floodfill = body.floodfill();
  info.region = body.region();
  return SignedRouterInfo{std::move(info), core::Bytes(wire.begin(), wire.end())};
}

}  // namespace hop::netdb
