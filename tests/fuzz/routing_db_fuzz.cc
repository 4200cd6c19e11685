// routing.db files are untrusted input: whatever bytes the file holds, load_routing_db() never
// crashes, never writes the file, and whatever it accepts keeps the RoutingTable's contracts.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "hop/proxy/routing_db.h"

namespace {

namespace fs = std::filesystem;
constexpr std::size_t kMaxInput = 512 * 1024;  // larger inputs only slow the fuzzer down

const fs::path& scratch_file() {
  static const fs::path file =
      fs::temp_directory_path() / ("hopline-routing-db-fuzz-" + std::to_string(::getpid()) + ".db");
  return file;
}

// A -wal or -shm left by the previous input would be read as part of this one.
void remove_scratch(const fs::path& file) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(file.string() + suffix, ec);
}

std::string read_back(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void check(const hop::proxy::RoutingTable& table) {
  for (std::size_t i = 0; i < table.backends.size(); ++i) {
    const auto& b = table.backends[i];
    if (i > 0 && !(table.backends[i - 1].id < b.id)) __builtin_trap();  // sorted, unique
    if (b.id.empty() || b.id.size() > 64 || b.weight < 1 || b.weight > 1000) __builtin_trap();
    if (b.soft_limit < 1 || b.hard_limit < b.soft_limit) __builtin_trap();
  }
  for (std::size_t i = 1; i < table.overrides.size(); ++i) {
    if (table.overrides[i - 1].prefix.bits < table.overrides[i].prefix.bits) __builtin_trap();
  }
  if (table.backends.size() > hop::proxy::kMaxBackendRows || table.overrides.size() > hop::proxy::kMaxOverrideRows) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  const fs::path& file = scratch_file();
  remove_scratch(file);
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << input;
  auto loaded = hop::proxy::load_routing_db(file);
  if (loaded) check(loaded->table);
  if (read_back(file) != input) __builtin_trap();  // the loader never writes the file
  remove_scratch(file);
  return 0;
}
