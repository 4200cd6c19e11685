// The console's /metrics: Prometheus text exposition format 0.0.4, every family with # HELP and
// # TYPE, names hopline_*, counters ending in _total (docs/console.md lists them all).
// Thread affinity: the node's network thread (it reads the live node).
#pragma once

#include <string>
#include <string_view>

#include "console_api.h"

namespace hop::router {

class Node;

// `value` as a label value may be written between double quotes: \\, \" and \n escaped.
std::string escape_label_value(std::string_view value);

// The whole exposition, ending with a newline.
std::string metrics_text(const Node& node, const ConsoleTimes& times);

}  // namespace hop::router
