#include "hop/transport/link_control.h"

#include "hop/transport/errors.h"
#include "hop/v1/link.pb.h"

namespace hop::transport {

core::Bytes encode_link_control(const LinkControl& msg) {
  hop::v1::LinkControl pb;
  if (const auto* ping = std::get_if<PingMsg>(&msg)) {
    pb.mutable_ping()->set_nonce(ping->nonce);
    if (ping->padding > 0) pb.mutable_ping()->set_padding(std::string(std::min<std::size_t>(ping->padding, kMaxControlSize - 64), '\0'));
  } else if (const auto* pong = std::get_if<PongMsg>(&msg)) {
    pb.mutable_pong()->set_nonce(pong->nonce);
  } else if (const auto* close = std::get_if<CloseMsg>(&msg)) {
    pb.mutable_close()->set_reason(close->reason);
    pb.mutable_close()->set_detail(close->detail.substr(0, kMaxCloseDetail));
  }
  core::Bytes out(pb.ByteSizeLong());
  pb.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

core::Result<LinkControl> decode_link_control(core::ByteView body) {
  if (body.size() > kMaxControlSize) return core::make_error(Errc::kMalformed, "control block too large");
  hop::v1::LinkControl pb;
  if (!pb.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return core::make_error(Errc::kMalformed, "control block does not parse");
  }
  switch (pb.body_case()) {
    case hop::v1::LinkControl::kPing: return LinkControl{PingMsg{pb.ping().nonce(), 0}};
    case hop::v1::LinkControl::kPong: return LinkControl{PongMsg{pb.pong().nonce()}};
    case hop::v1::LinkControl::kClose: {
      std::string detail = pb.close().detail().substr(0, kMaxCloseDetail);
      return LinkControl{CloseMsg{pb.close().reason(), std::move(detail)}};
    }
    case hop::v1::LinkControl::BODY_NOT_SET: break;
  }
  return core::make_error(Errc::kMalformed, "empty control block");
}

}  // namespace hop::transport
