#include "hop/netdb/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <random>

#include "hop/netdb/errors.h"
#include "support/temp_dir.h"

namespace hop::netdb {
namespace {

using hop::test::TempDir;

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const core::WallTime kNow = core::WallTime(std::chrono::seconds(1'800'000'000));

core::RouterHash hash_of(int i) {
  core::RouterHash h;
  h.bytes[0] = static_cast<std::uint8_t>(i);
  h.bytes[5] = 0xab;
  return h;
}

core::Bytes read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const core::Bytes& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// Runs SQL on a file with SQLite directly, as another application (or an operator) would.
void sqlite_exec(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

std::string journal_mode_of(const fs::path& file) {
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  std::string mode;
  if (sqlite3_open(file.c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return mode;
}

// A profile whose times are whole milliseconds and RTTs whole microseconds (what the record keeps).
PeerProfile sample_profile() {
  PeerProfile p;
  p.record_reachability(true, 100ms, kNow);
  p.record_reachability(false, std::nullopt, kNow + 1min);
  p.record_reachability(true, 200ms, kNow + 2min);
  p.record_bandwidth(3'000'000, 2s, kNow + 3min);
  p.record_build(BuildOutcome::kAccepted, kNow + 4min);
  p.record_build(BuildOutcome::kTimedOut, kNow + 64min);
  return p;
}

NetDbStore open_or_die(const fs::path& file) {
  auto store = NetDbStore::open(file);
  if (!store) ADD_FAILURE() << store.error().message();
  return std::move(store).value();
}

// Expects open(file) to fail with `code`, naming the file, leaving its bytes as they were.
std::string expect_refused(const fs::path& file, Errc code) {
  const core::Bytes before = read_bytes(file);
  auto store = NetDbStore::open(file);
  if (store.ok()) {
    ADD_FAILURE() << "opened " << file;
    return {};
  }
  EXPECT_EQ(store.error().code, make_error_code(code)) << store.error().message();
  EXPECT_NE(store.error().message().find(file.string()), std::string::npos) << store.error().message();
  EXPECT_EQ(read_bytes(file), before) << "the file was changed";
  return store.error().message();
}

TEST(NetDbStore, RoutersRoundTrip) {
  TempDir dir;
  auto store = open_or_die(dir.path() / "netdb.sqlite");
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(store.put_router(hash_of(i), core::Bytes(10 * i, static_cast<std::uint8_t>(i)), kNow).ok());
  }
  ASSERT_TRUE(store.put_router(hash_of(2), core::Bytes{9, 9}, kNow + 1min).ok()) << "replaces";
  ASSERT_TRUE(store.remove_router(hash_of(3)).ok());
  std::size_t skipped = 99;
  auto routers = store.load_routers(&skipped);
  ASSERT_TRUE(routers.ok()) << routers.error().message();
  ASSERT_EQ(routers->size(), 2u);
  std::map<core::RouterHash, core::Bytes> by_hash;
  for (auto& r : *routers) by_hash[r.hash] = r.wire;
  EXPECT_EQ(by_hash[hash_of(1)], core::Bytes(10, 1));
  EXPECT_EQ(by_hash[hash_of(2)], (core::Bytes{9, 9}));
  EXPECT_EQ(skipped, 0u);
}

TEST(NetDbStore, ProfilesRoundTrip) {
  TempDir dir;
  auto store = open_or_die(dir.path() / "netdb.sqlite");
  const PeerProfile p = sample_profile();
  ASSERT_TRUE(store.put_profile(hash_of(1), p).ok());
  ASSERT_TRUE(store.put_profile(hash_of(2), PeerProfile{}).ok());
  auto loaded = store.load_profiles();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ(loaded->at(hash_of(1)), p);
  EXPECT_EQ(loaded->at(hash_of(2)), PeerProfile{});
  EXPECT_DOUBLE_EQ(score(loaded->at(hash_of(1)), kNow + 1h), score(p, kNow + 1h));
}

TEST(NetDbStore, BansRoundTripAndSurviveCloseAndReopen) {
  TempDir dir;
  const fs::path file = dir.path() / "netdb.sqlite";
  {
    auto store = open_or_die(file);
    ASSERT_TRUE(store.put_ban(hash_of(1), {"unreachable: 3 tests failed", kNow, kNow + 24h}).ok());
    ASSERT_TRUE(store.put_ban(hash_of(2), {"b", kNow, kNow + 1h}).ok());
    ASSERT_TRUE(store.put_ban(hash_of(3), {"c", kNow, kNow + 2h}).ok());
    ASSERT_TRUE(store.remove_ban(hash_of(3)).ok());
  }
  auto store = open_or_die(file);
  auto bans = store.load_bans();
  ASSERT_TRUE(bans.ok()) << bans.error().message();
  ASSERT_EQ(bans->size(), 2u);
  EXPECT_EQ(*bans->find(hash_of(1)), (Ban{"unreachable: 3 tests failed", kNow, kNow + 24h}));
  EXPECT_TRUE(bans->is_banned(hash_of(1), kNow + 24h - 1ms)) << "a restart does not forget a ban";
  EXPECT_FALSE(bans->is_banned(hash_of(1), kNow + 24h));
  EXPECT_FALSE(bans->is_banned(hash_of(3), kNow));
}

TEST(NetDbStore, UsesWalMode) {
  TempDir dir;
  const fs::path file = dir.path() / "netdb.sqlite";
  auto store = open_or_die(file);
  ASSERT_TRUE(store.put_router(hash_of(1), core::Bytes{1}, kNow).ok());
  EXPECT_TRUE(fs::exists(fs::path(file.string() + "-wal")));
  const core::Bytes header = read_bytes(file);
  ASSERT_GE(header.size(), 100u);
  EXPECT_EQ(header[18], 2) << "file format write version 2 is WAL";
  EXPECT_EQ(header[19], 2);
  EXPECT_EQ(journal_mode_of(file), "wal");
}

TEST(NetDbStore, TransactionCommitsOrRollsBack) {
  TempDir dir;
  auto store = open_or_die(dir.path() / "netdb.sqlite");
  ASSERT_TRUE(store.transaction([&] {
    for (int i = 0; i < 10; ++i) {
      if (auto st = store.put_router(hash_of(i), core::Bytes{1}, kNow); !st) return st;
    }
    return core::ok_status();
  }).ok());
  const core::Status failed = store.transaction([&]() -> core::Status {
    (void)store.remove_router(hash_of(0));
    (void)store.put_router(hash_of(20), core::Bytes{1}, kNow);
    return core::make_error(Errc::kStore, "batch gave up");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(store.load_routers()->size(), 10u) << "the failed batch left nothing behind";
  const core::Status nested = store.transaction([&] { return store.transaction([] { return core::ok_status(); }); });
  EXPECT_FALSE(nested.ok());
  EXPECT_TRUE(store.put_router(hash_of(30), core::Bytes{1}, kNow).ok()) << "usable after a nested failure";
}

TEST(NetDbStore, SkipsAndCountsProfileRowsThatDoNotDecode) {
  TempDir dir;
  const fs::path file = dir.path() / "netdb.sqlite";
  {
    auto store = open_or_die(file);
    ASSERT_TRUE(store.put_profile(hash_of(1), sample_profile()).ok());
  }
  sqlite_exec(file, "INSERT INTO profiles(hash, data) VALUES(zeroblob(32), x'ffffffff01')");
  auto store = open_or_die(file);
  std::size_t skipped = 0;
  auto profiles = store.load_profiles(&skipped);
  ASSERT_TRUE(profiles.ok());
  EXPECT_EQ(profiles->size(), 1u);
  EXPECT_EQ(skipped, 1u);
}

TEST(NetDbStore, RefusesRandomBytesAndLeavesThemUntouched) {
  TempDir dir;
  const fs::path file = dir.path() / "netdb.sqlite";
  std::mt19937 rng(5);
  core::Bytes noise(8192);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
  write_bytes(file, noise);
  const std::string message = expect_refused(file, Errc::kCorruptStore);
  EXPECT_NE(message.find("not a SQLite database"), std::string::npos) << message;
  EXPECT_NE(message.find("move it aside"), std::string::npos) << message;
}

TEST(NetDbStore, RefusesAnotherApplicationsDatabase) {
  TempDir dir;
  const fs::path file = dir.path() / "other.sqlite";
  sqlite_exec(file, "PRAGMA application_id = 42; CREATE TABLE notes(text TEXT); INSERT INTO notes VALUES('x');");
  const std::string message = expect_refused(file, Errc::kCorruptStore);
  EXPECT_NE(message.find("another application"), std::string::npos) << message;
  EXPECT_NE(message.find("0x0000002a"), std::string::npos) << message;
  const fs::path plain = dir.path() / "plain.sqlite";
  sqlite_exec(plain, "CREATE TABLE routers(hash BLOB PRIMARY KEY, wire BLOB, published_ms INTEGER)");
  expect_refused(plain, Errc::kCorruptStore);  // even with a table of the same name
}

TEST(NetDbStore, RefusesANewerSchema) {
  TempDir dir;
  const fs::path file = dir.path() / "netdb.sqlite";
  { auto store = open_or_die(file); }
  sqlite_exec(file, "PRAGMA user_version = " + std::to_string(kStoreSchemaVersion + 1));
  const std::string message = expect_refused(file, Errc::kCorruptStore);
  EXPECT_NE(message.find("newer"), std::string::npos) << message;
}

// A store with enough rows to span many pages, closed (so everything is in the main file).
fs::path filled_store(const TempDir& dir) {
  const fs::path file = dir.path() / "netdb.sqlite";
  auto store = open_or_die(file);
  for (int i = 0; i < 200; ++i) (void)store.put_router(hash_of(i), core::Bytes(600, static_cast<std::uint8_t>(i)), kNow);
  return file;
}

TEST(NetDbStore, RefusesATruncatedDatabase) {
  TempDir dir;
  const fs::path file = filled_store(dir);
  core::Bytes bytes = read_bytes(file);
  ASSERT_GT(bytes.size(), 40'000u);
  for (std::size_t keep : {bytes.size() / 2, std::size_t{4096}, std::size_t{60}}) {
    write_bytes(file, core::Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep)));
    expect_refused(file, Errc::kCorruptStore);
  }
}

TEST(NetDbStore, RefusesDamagedPages) {
  TempDir dir;
  const fs::path file = filled_store(dir);
  core::Bytes bytes = read_bytes(file);
  for (std::size_t i = 3 * 4096; i < 3 * 4096 + 2000; ++i) bytes[i] = static_cast<std::uint8_t>(i * 7);
  write_bytes(file, bytes);
  const std::string message = expect_refused(file, Errc::kCorruptStore);
  EXPECT_NE(message.find("damaged"), std::string::npos) << message;
}

TEST(NetDbStore, TreatsAnEmptyFileAsNew) {
  TempDir dir;
  const fs::path file = dir.path() / "netdb.sqlite";
  write_bytes(file, {});
  auto store = open_or_die(file);
  EXPECT_TRUE(store.put_ban(hash_of(1), {"x", kNow, kNow + 1h}).ok());
}

TEST(NetDbStore, MissingDirectoryGivesAClearError) {
  TempDir dir;
  const fs::path file = dir.path() / "no-such-dir" / "netdb.sqlite";
  auto store = NetDbStore::open(file);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, make_error_code(Errc::kStore));
  EXPECT_NE(store.error().message().find(file.string()), std::string::npos) << store.error().message();
  EXPECT_NE(store.error().message().find("directory exists"), std::string::npos) << store.error().message();
  EXPECT_FALSE(fs::exists(dir.path() / "no-such-dir"));
}

// Runs `fn` in a child process as an unprivileged user (root would pass every permission check)
// and returns its output.
std::string run_unprivileged(const std::function<std::string()>& fn) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const bool dropped = ::geteuid() != 0 || (::setgid(65534) == 0 && ::setuid(65534) == 0);
    const std::string out = dropped ? fn() : "cannot drop privileges";
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  return out;
}

std::string open_as_unprivileged(const fs::path& file) {
  return run_unprivileged([&] {
    auto store = NetDbStore::open(file);
    return store.ok() ? std::string("opened") : store.error().message();
  });
}

TEST(NetDbStore, ReadOnlyDirectoryGivesAClearError) {
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  const fs::path ro = dir.path() / "ro";
  fs::create_directory(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                          fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  const fs::path file = ro / "netdb.sqlite";
  const std::string message = open_as_unprivileged(file);
  EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  EXPECT_NE(message.find("may read and write"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(file));
}

TEST(NetDbStore, ReadOnlyFileGivesAClearError) {
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::all);  // the directory is writable: only the file is not
  const fs::path file = dir.path() / "netdb.sqlite";
  { auto store = open_or_die(file); }
  fs::permissions(file, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const core::Bytes before = read_bytes(file);
  const std::string message = open_as_unprivileged(file);
  EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  EXPECT_NE(message.find("read-only"), std::string::npos) << message;
  EXPECT_EQ(read_bytes(file), before);
}

}  // namespace
}  // namespace hop::netdb
