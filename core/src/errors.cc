#include "hop/core/errors.h"

#include <string>

namespace hop::core {
namespace {

class CoreCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hop.core"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::kInvalidArgument: return "invalid argument";
      case Errc::kCorrupt: return "corrupt data";
      case Errc::kInsecurePermissions: return "insecure file permissions";
      case Errc::kIo: return "I/O error";
      case Errc::kCrypto: return "cryptographic failure";
      case Errc::kNotFound: return "not found";
    }
    return "unknown core error";
  }
};

}  // namespace

const std::error_category& core_category() {
  static const CoreCategory category;
  return category;
}

}  // namespace hop::core
