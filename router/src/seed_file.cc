#include "hop/router/seed_file.h"

#include "hop/core/errors.h"
#include "hop/core/files.h"
#include "text_lines.h"

namespace hop::router {

core::Result<std::vector<transport::PeerContact>> parse_seeds(std::string_view text,
                                                             const std::string& origin) {
  std::vector<transport::PeerContact> out;
  auto st = for_each_content_line(text, [&](int line_no, std::string_view line) -> core::Status {
    auto contact = transport::PeerContact::parse(line);
    if (!contact) return contact.error().wrap(origin + ":" + std::to_string(line_no));
    out.push_back(std::move(*contact));
    return {};
  });
  if (!st) return st.error();
  return out;
}

core::Result<std::vector<transport::PeerContact>> read_seed_file(const std::filesystem::path& path) {
  auto data = core::read_file(path, 4 << 20);
  if (!data) return data.error().wrap("reading seed file");
  return parse_seeds(std::string_view(reinterpret_cast<const char*>(data->data()), data->size()),
                     path.string());
}

}  // namespace hop::router
