#include "hop/router/seed_file.h"

#include "hop/core/encoding.h"
#include "hop/core/errors.h"
#include "hop/core/files.h"
#include "hop/netdb/constants.h"
#include "text_lines.h"

namespace hop::router {
namespace {

constexpr std::string_view kRouterInfoPrefix = "routerinfo:";
// Base32 carries 5 bits a character: the longest text of a RouterInfo netdb accepts.
constexpr std::size_t kMaxRouterInfoText = (netdb::kMaxRouterInfoSize * 8 + 4) / 5;

// `text` is what follows "routerinfo:". Only the encoding and the size are checked here; the node
// verifies the record (signature, network, age) when it adds it to its NetDB.
core::Result<core::Bytes> parse_router_info_line(std::string_view text) {
  auto bad = [](const std::string& why) { return core::make_error(core::Errc::kInvalidArgument, why); };
  if (text.empty()) return bad("routerinfo line has nothing after 'routerinfo:'");
  if (text.size() > kMaxRouterInfoText) {
    return bad("routerinfo line has " + std::to_string(text.size()) + " characters; a RouterInfo (at most " +
               std::to_string(netdb::kMaxRouterInfoSize) + " bytes) has at most " + std::to_string(kMaxRouterInfoText));
  }
  auto wire = core::from_base32(text);
  if (!wire) {
    return bad("routerinfo line is not base32 (a-z, 2-7): copy the whole line that 'hopline netdb export' printed");
  }
  return std::move(*wire);
}

}  // namespace

core::Result<Seeds> parse_seeds(std::string_view text, const std::string& origin) {
  Seeds out;
  auto st = for_each_content_line(text, [&](int line_no, std::string_view line) -> core::Status {
    const std::string where = origin + ":" + std::to_string(line_no);
    if (line.starts_with(kRouterInfoPrefix)) {
      auto wire = parse_router_info_line(line.substr(kRouterInfoPrefix.size()));
      if (!wire) return wire.error().wrap(where);
      out.router_infos.push_back(std::move(*wire));
      return {};
    }
    auto contact = transport::PeerContact::parse(line);
    if (!contact) return contact.error().wrap(where);
    out.contacts.push_back(std::move(*contact));
    return {};
  });
  if (!st) return st.error();
  return out;
}

core::Result<Seeds> read_seed_file(const std::filesystem::path& path) {
  auto data = core::read_file(path, 4 << 20);
  if (!data) return data.error().wrap("reading seed file");
  return parse_seeds(std::string_view(reinterpret_cast<const char*>(data->data()), data->size()),
                     path.string());
}

}  // namespace hop::router
