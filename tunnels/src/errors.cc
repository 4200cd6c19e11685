#include "hop/tunnels/errors.h"

#include <string>

namespace hop::tunnels {
namespace {

class TunnelsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hop.tunnels"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::kMalformed: return "malformed tunnel data";
      case Errc::kNotForUs: return "build request has no record for this router";
      case Errc::kBadRecord: return "build record does not open or decode";
      case Errc::kIntegrity: return "cell failed its integrity check";
      case Errc::kReplay: return "cell replayed or too old";
      case Errc::kTooLarge: return "tunnel message too large";
      case Errc::kNoRoute: return "no route";
      case Errc::kLimit: return "limit reached";
    }
    return "unknown tunnels error";
  }
};

}  // namespace

const std::error_category& tunnels_category() {
  static const TunnelsCategory category;
  return category;
}

}  // namespace hop::tunnels
