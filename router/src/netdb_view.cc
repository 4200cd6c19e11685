#include "netdb_view.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "hop/core/errors.h"

namespace hop::router {
namespace {

bool is_time_refusal(netdb::Refusal r) { return r == netdb::Refusal::kExpired || r == netdb::Refusal::kFromFuture; }

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool is_base32_text(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); });
}

}  // namespace

const StoredRouterView* NetDbView::find_router(const core::RouterHash& hash) const {
  auto it = std::lower_bound(routers.begin(), routers.end(), hash,
                             [](const StoredRouterView& r, const core::RouterHash& h) { return r.hash < h; });
  return it != routers.end() && it->hash == hash ? &*it : nullptr;
}

const netdb::PeerProfile* NetDbView::find_profile(const core::RouterHash& hash) const {
  auto it = profiles.find(hash);
  return it == profiles.end() ? nullptr : &it->second;
}

StoredRouterView inspect_router_info(const core::RouterHash& hash, core::ByteView wire,
                                     const netdb::VerifyContext& context) {
  StoredRouterView view{hash, core::Bytes(wire.begin(), wire.end()), std::nullopt, std::nullopt};
  netdb::VerifyContext at = context;
  at.expected_hash = hash;  // a record stored under another router's hash is refused as well
  netdb::Refusal refusal{};
  auto verified = netdb::verify_router_info(wire, at, &refusal);
  if (verified) {
    view.info = std::move(verified->info);
    return view;
  }
  view.refusal = refusal;
  if (is_time_refusal(refusal)) {
    // Signed and well-formed, only too old or too new: show its fields all the same.
    at.check_age = false;
    if (auto undated = netdb::verify_router_info(wire, at)) view.info = std::move(undated->info);
  }
  return view;
}

core::Result<NetDbView> load_netdb_view(netdb::NetDbStore& store, const netdb::VerifyContext& context) {
  NetDbView view;
  std::size_t skipped_routers = 0, skipped_profiles = 0, skipped_bans = 0;
  auto routers = store.load_routers(&skipped_routers);
  if (!routers) return routers.error();
  auto profiles = store.load_profiles(&skipped_profiles);
  if (!profiles) return profiles.error();
  auto bans = store.load_bans(&skipped_bans);
  if (!bans) return bans.error();
  for (const auto& stored : *routers) view.routers.push_back(inspect_router_info(stored.hash, stored.wire, context));
  std::sort(view.routers.begin(), view.routers.end(),
            [](const StoredRouterView& a, const StoredRouterView& b) { return a.hash < b.hash; });
  view.profiles = std::move(*profiles);
  view.bans = std::move(*bans);
  view.skipped_rows = skipped_routers + skipped_profiles + skipped_bans;
  return view;
}

core::Result<core::RouterHash> resolve_hash(const NetDbView& view, std::string_view prefix) {
  const std::string wanted = lowercase(prefix);
  if (wanted.empty() || !is_base32_text(wanted)) {
    return core::make_error(
        core::Errc::kInvalidArgument,
        "'" + std::string(prefix) + "' is not a router hash or the start of one (base32: a-z, 2-7)");
  }
  std::set<core::RouterHash> known;
  for (const auto& r : view.routers) known.insert(r.hash);
  for (const auto& [hash, profile] : view.profiles) known.insert(hash);
  for (const auto& [hash, ban] : view.bans.all()) known.insert(hash);
  std::vector<core::RouterHash> matches;
  for (const auto& hash : known) {
    const std::string text = hash.to_string();
    if (text == wanted) return hash;
    if (text.starts_with(wanted)) matches.push_back(hash);
  }
  if (matches.size() == 1) return matches.front();
  if (matches.empty()) {
    return core::make_error(
        core::Errc::kNotFound,
        "no router " + std::string(prefix) + " in the NetDB (routers known: " + std::to_string(known.size()) + ")");
  }
  std::string names;
  for (std::size_t i = 0; i < matches.size() && i < 5; ++i) names += (i ? ", " : "") + matches[i].to_string();
  if (matches.size() > 5) names += ", ...";
  return core::make_error(core::Errc::kInvalidArgument, "'" + std::string(prefix) + "' matches " +
                                                            std::to_string(matches.size()) + " routers (" + names +
                                                            "); give more characters of the hash");
}

}  // namespace hop::router
