#include "hop/netdb/errors.h"

#include <string>

namespace hop::netdb {
namespace {

class NetDbCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hop.netdb"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::kRefused: return "record refused";
      case Errc::kStore: return "NetDB store error";
      case Errc::kCorruptStore: return "NetDB database is damaged or not a Hopline NetDB";
      case Errc::kNotFound: return "not found";
    }
    return "unknown netdb error";
  }
};

}  // namespace

const std::error_category& netdb_category() {
  static const NetDbCategory category;
  return category;
}

}  // namespace hop::netdb
