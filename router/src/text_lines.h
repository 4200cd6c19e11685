// Line splitting shared by the config and seed-file parsers.
#pragma once

#include <functional>
#include <string_view>

#include "hop/core/result.h"

namespace hop::router {

// Calls `fn(line_number, content)` for each line that has content once a '#' comment and the
// surrounding blanks are removed; stops at the first error `fn` returns.
inline core::Status for_each_content_line(std::string_view text,
                                          const std::function<core::Status(int, std::string_view)>& fn) {
  int line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) continue;
    if (auto st = fn(line_no, line); !st) return st;
  }
  return {};
}

}  // namespace hop::router
