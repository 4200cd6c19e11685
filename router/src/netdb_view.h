// What `hopline netdb` shows: a node's stored NetDB read once into plain values, each RouterInfo
// decoded even when it no longer verifies (expired, from the future) so an operator can see why.
// Thread affinity: none (values); load_netdb_view() uses the store on the caller's thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/result.h"
#include "hop/netdb/ban.h"
#include "hop/netdb/profile.h"
#include "hop/netdb/router_info.h"
#include "hop/netdb/store.h"

namespace hop::router {

struct StoredRouterView {
  core::RouterHash hash;
  core::Bytes wire;                       // exactly as stored
  std::optional<netdb::RouterInfo> info;  // set when its keys and signature hold
  std::optional<netdb::Refusal> refusal;  // why it does not verify at `now`; nullopt: valid

  bool is_valid() const { return !refusal.has_value(); }
};

struct NetDbView {
  std::vector<StoredRouterView> routers;  // in hash order
  netdb::Profiles profiles;
  netdb::BanList bans;
  std::optional<core::RouterHash> self;  // this node's hash, if its identity file could be read
  std::size_t skipped_rows = 0;          // rows of any table that could not be read

  const StoredRouterView* find_router(const core::RouterHash& hash) const;
  const netdb::PeerProfile* find_profile(const core::RouterHash& hash) const;
  bool is_self(const core::RouterHash& hash) const { return self && *self == hash; }
};

// Reads every table of `store` and checks each RouterInfo against `context`.
core::Result<NetDbView> load_netdb_view(netdb::NetDbStore& store, const netdb::VerifyContext& context);

// Decodes and verifies `wire`; a record refused only for its age is still decoded.
StoredRouterView inspect_router_info(const core::RouterHash& hash, core::ByteView wire,
                                     const netdb::VerifyContext& context);

// The one router (with a RouterInfo, a profile or a ban) whose printed hash starts with `prefix`
// (case-insensitive). Errors: none matches (core::Errc::kNotFound), several match, bad characters.
core::Result<core::RouterHash> resolve_hash(const NetDbView& view, std::string_view prefix);

}  // namespace hop::router
