// Plain-text tables for the CLI (netdb, console and proxy commands): columns left-aligned, two
// spaces apart, the last column not padded.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace hop::router {

using TextRow = std::vector<std::string>;

// The header and rows as lines, each after `indent`. Rows may be shorter or longer than the header.
inline std::string render_table(const TextRow& header, const std::vector<TextRow>& rows, const std::string& indent = "") {
  std::vector<std::size_t> width;
  auto measure = [&](const TextRow& r) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto line = [&](const TextRow& r) {
    out += indent;
    for (std::size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out.append(width[i] - r[i].size() + 2, ' ');
    }
    out += "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

}  // namespace hop::router
