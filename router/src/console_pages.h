// The console's HTML pages (/, /peers, /netdb, /tunnels, /transit, /services, /proxy; docs/console.md "Pages"):
// server-rendered, one inline <style>, no JavaScript and no external resources, refreshed by
// <meta http-equiv="refresh">. Every string from the node or its peers goes through html_escape.
// No I/O; times come in ConsoleTimes, history from ConsoleHistory.
// Thread affinity: the node's network thread (it reads the live node).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "console_api.h"

namespace hop::router {

class Node;
class ConsoleHistory;

inline constexpr int kPageRefreshSeconds = 10;  // matches kConsoleHistoryPeriod

// `text` safe inside HTML text and double- or single-quoted attributes (& < > " ').
std::string html_escape(std::string_view text);

// Numbers for people: `v` with `decimals` decimals; a byte count in B, KiB, MiB or GiB.
std::string format_fixed(double v, int decimals);
std::string format_bytes(double b);
// <h2> with the escaped title.
std::string html_section(std::string_view title);

// A table of plain-text cells; html_table escapes every header and cell.
struct HtmlTable {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};
std::string html_table(const HtmlTable& table);

// True if `path` is one of the pages.
bool is_page_path(std::string_view path);
// The whole HTML document for GET `path` (without a query string), or nullopt when no page has it.
std::optional<std::string> page_html(std::string_view path, const Node& node, const ConsoleTimes& times,
                                     const ConsoleHistory& history);

}  // namespace hop::router
