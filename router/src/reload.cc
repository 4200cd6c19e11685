#include "hop/router/reload.h"

#include <spdlog/spdlog.h>

#include "hop/core/log.h"
#include "hop/router/node.h"

namespace hop::router {
namespace {

// `key`'s value in `map` as written, or its documented default when `map` does not set it.
std::string value_in(const ConfigMap& map, const std::string& key) {
  if (const auto it = map.find(key); it != map.end()) return it->second.value;
  for (const auto& doc : config_keys()) {
    if (doc.key == key) return doc.default_value;
  }
  return "(default)";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

void apply_log_level(const std::string& level) {
  // Said at the level that shows it: before a quieter level takes effect, after a louder one.
  const bool said = spdlog::should_log(spdlog::level::info);
  if (said) spdlog::info("reload: log.level is now {}", level);
  if (auto st = core::set_log_level(level); !st) spdlog::error("reload: {}", st.error().message());
  if (!said) spdlog::info("reload: log.level is now {}", level);
}

}  // namespace

ReloadReport reload_node(const core::Result<ConfigMap>& next, ConfigMap& running, Node& node) {
  ReloadReport report;
  auto config = next ? build_node_config(*next) : core::Result<NodeConfig>(next.error());
  if (!config) {
    report.error = config.error().message();
    spdlog::error("reload failed, keeping the running config: {}", report.error);
    return report;
  }
  report.accepted = true;
  bool limits = false;
  for (const auto& key : changed_keys(running, *next)) {
    if (!is_reloadable_key(key)) {
      report.restart.push_back(key);
      continue;
    }
    if (key == "log.level") {
      report.applied.push_back("log.level is now " + config->log.level);
      apply_log_level(config->log.level);
    } else {
      report.applied.push_back(key + " " + value_in(running, key) + " -> " + value_in(*next, key));
      limits = limits || key != "proxy.routing_db";
    }
    if (auto it = next->find(key); it != next->end()) {
      running[key] = it->second;
    } else {
      running.erase(key);  // back to its default
    }
  }
  if (limits) node.reload_limits(*config);
  for (const auto& line : report.applied) {
    if (line.rfind("log.level ", 0) != 0) spdlog::info("reload: {}", line);
  }
  if (!report.restart.empty()) spdlog::warn("not reloaded (restart to apply): {}", join(report.restart));
  // routing.db is re-read on every SIGHUP (and within proxy.reload_poll of any change anyway).
  node.reload_proxy(config->proxy.routing_db);
  return report;
}

}  // namespace hop::router
