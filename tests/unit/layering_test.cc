// Fails when a file includes a header from a higher layer (DESIGN.md: core <- transport <- netdb
// <- tunnels <- proxy <- router), or reaches into another module's private src/ folder.
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr std::array<const char*, 6> kLayers = {"core", "transport", "netdb", "tunnels", "proxy", "router"};

int rank_of(const std::string& module) {
  for (std::size_t i = 0; i < kLayers.size(); ++i) {
    if (module == kLayers[i]) return static_cast<int>(i);
  }
  return -1;
}

// Every violation in `text`, a file of `module`, as "line N: reason".
std::vector<std::string> find_violations(const std::string& module, const std::string& text) {
  static const std::regex include_re(R"re(^\s*#\s*include\s*[<"]([^">]+)[">])re");
  static const std::regex hop_re(R"(^hop/([a-z_]+)/)");
  static const std::regex private_re(R"((^|/)\.\./.*\b(core|transport|netdb|tunnels|proxy|router)/src/)");
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::smatch m;
    if (!std::regex_search(line, m, include_re)) continue;
    const std::string path = m[1];
    std::smatch h;
    if (std::regex_search(path, h, hop_re)) {
      const int target = rank_of(h[1]);
      if (target > rank_of(module)) {
        out.push_back("line " + std::to_string(n) + ": " + module + " includes " + path + " from the higher layer " + std::string(h[1]));
      }
    }
    if (std::regex_search(path, private_re)) {
      out.push_back("line " + std::to_string(n) + ": includes another module's private header " + path);
    }
  }
  return out;
}

TEST(Layering, CheckerFindsUpwardAndPrivateIncludes) {
  EXPECT_EQ(find_violations("core", "#include \"hop/transport/link_layer.h\"\n").size(), 1u);
  EXPECT_EQ(find_violations("transport", "  #  include <hop/router/node.h>\n").size(), 1u);
  EXPECT_EQ(find_violations("router", "#include \"../../transport/src/tcp_link.h\"\n").size(), 1u);
  EXPECT_TRUE(find_violations("router", "#include \"hop/transport/link_layer.h\"\n#include \"hop/core/bytes.h\"\n").empty());
  EXPECT_TRUE(find_violations("transport", "#include \"tcp_link.h\"\n#include <vector>\n").empty());
}

TEST(Layering, NoFileIncludesAHigherLayer) {
  const std::filesystem::path root = HOP_SOURCE_DIR;
  std::size_t files = 0;
  for (const char* module : kLayers) {
    const auto dir = root / module;
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      const auto ext = entry.path().extension();
      if (ext != ".h" && ext != ".cc" && ext != ".proto") continue;
      std::ifstream f(entry.path());
      std::stringstream text;
      text << f.rdbuf();
      ++files;
      for (const auto& v : find_violations(module, text.str())) {
        ADD_FAILURE() << entry.path().string() << " " << v;
      }
    }
  }
  EXPECT_GT(files, 20u) << "the checker found too few files under " << root;
}

}  // namespace
