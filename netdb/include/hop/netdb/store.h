// NetDbStore: the node's persistent NetDB — RouterInfos (as signed wire bytes), peer profiles and
// bans — in one SQLite file (WAL). docs/netdb.md has the schema and the errors an operator sees.
//
// A file that is damaged, unreadable or not a Hopline NetDB makes open() fail with a message
// naming the file, the problem and what to do; such a file is never deleted or rewritten.
// Thread affinity: one thread at a time (the node runs the store on a dedicated store thread,
// never on the network thread, because SQLite calls block).
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "hop/core/bytes.h"
#include "hop/core/identity.h"
#include "hop/core/result.h"
#include "hop/core/runtime.h"
#include "hop/netdb/ban.h"
#include "hop/netdb/profile.h"

namespace hop::netdb {

struct StoredRouter {
  core::RouterHash hash;
  core::Bytes wire;  // as stored; verify_router_info() it again before use
};

class NetDbStore {
 public:
  // Opens `file`, creating it (and the schema) if it does not exist or is empty. Errors:
  // Errc::kCorruptStore (damaged, foreign or newer file), Errc::kStore (cannot open or write).
  static core::Result<NetDbStore> open(const std::filesystem::path& file);
  ~NetDbStore();
  NetDbStore(NetDbStore&&) noexcept;
  NetDbStore& operator=(NetDbStore&&) noexcept;

  // Inserts or replaces the record of `hash`.
  core::Status put_router(const core::RouterHash& hash, core::ByteView wire, core::WallTime published);
  core::Status remove_router(const core::RouterHash& hash);
  // Every stored record. Rows that cannot be ours (a hash of the wrong size) are skipped and
  // counted in `*skipped` if given.
  core::Result<std::vector<StoredRouter>> load_routers(std::size_t* skipped = nullptr);

  core::Status put_profile(const core::RouterHash& hash, const PeerProfile& profile);
  // Every stored profile; rows that do not decode are skipped and counted in `*skipped`.
  core::Result<Profiles> load_profiles(std::size_t* skipped = nullptr);

  core::Status put_ban(const core::RouterHash& hash, const Ban& ban);
  core::Status remove_ban(const core::RouterHash& hash);
  // Every stored ban, ended ones included (BanList::expire() them, then remove_ban()).
  core::Result<BanList> load_bans(std::size_t* skipped = nullptr);

  // Runs `batch` (calls on this store) in one transaction: committed if it returns ok, rolled
  // back otherwise. Not reentrant: a nested call fails with Errc::kStore.
  core::Status transaction(const std::function<core::Status()>& batch);

  const std::filesystem::path& file() const;

 private:
  struct Impl;
  explicit NetDbStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hop::netdb
