#include "hop/router/seed_file.h"

#include "hop/core/errors.h"
#include "hop/core/files.h"

namespace hop::router {

core::Result<std::vector<transport::PeerContact>> parse_seeds(std::string_view text,
                                                             const std::string& origin) {
  std::vector<transport::PeerContact> out;
  int line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) continue;
    auto contact = transport::PeerContact::parse(line);
    if (!contact) return contact.error().wrap(origin + ":" + std::to_string(line_no));
    out.push_back(std::move(*contact));
  }
  return out;
}

core::Result<std::vector<transport::PeerContact>> read_seed_file(const std::filesystem::path& path) {
  auto data = core::read_file(path, 4 << 20);
  if (!data) return data.error().wrap("reading seed file");
  return parse_seeds(std::string_view(reinterpret_cast<const char*>(data->data()), data->size()),
                     path.string());
}

}  // namespace hop::router
