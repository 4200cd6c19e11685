#include "console_history.h"

#include <algorithm>
#include <cstdio>

#include "console_pages.h"
#include "hop/router/node.h"
#include "hop/router/proxy_host.h"

namespace hop::router {
namespace {

std::optional<double> mean_latency_ms(const std::vector<tunnels::TunnelView>& tunnels) {
  double sum = 0;
  std::size_t n = 0;
  for (const auto& t : tunnels) {
    if (t.state != tunnels::TunnelState::kEstablished || !t.latency) continue;
    sum += std::chrono::duration<double, std::milli>(*t.latency).count();
    ++n;
  }
  if (n == 0) return std::nullopt;
  return sum / static_cast<double>(n);
}

double seconds(core::Duration d) { return std::chrono::duration<double>(d).count(); }

template <typename Field>
std::vector<double> rates(const std::vector<ConsoleSample>& s, Field field) {
  std::vector<double> out;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const double dt = seconds(s[i].time - s[i - 1].time);
    const auto a = s[i - 1].*field, b = s[i].*field;
    // A counter never goes back; if it did (a restarted node), the step is not a rate.
    out.push_back(dt > 0 && b >= a ? static_cast<double>(b - a) / dt : 0.0);
  }
  return out;
}

template <typename Field>
std::optional<double> mean_rate(const std::vector<ConsoleSample>& s, Field field) {
  if (s.size() < 2) return std::nullopt;
  const double dt = seconds(s.back().time - s.front().time);
  const auto a = s.front().*field, b = s.back().*field;
  if (dt <= 0 || b < a) return std::nullopt;
  return static_cast<double>(b - a) / dt;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string coordinate(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

ConsoleSample sample_node(const Node& node, core::TimePoint now) {
  const auto& tm = node.tunnels();
  const auto views = tm.tunnels();
  ConsoleSample s;
  s.time = now;
  s.bytes_in = node.links().counters().bytes_in;
  s.bytes_out = node.links().counters().bytes_out;
  s.links = node.links().links().size();
  s.tunnels = static_cast<std::size_t>(std::count_if(views.begin(), views.end(), [](const auto& t) {
    return t.state == tunnels::TunnelState::kEstablished;
  }));
  s.build_success = tm.build_success_rate(kConsoleBuildWindow);
  s.latency_ms = mean_latency_ms(views);
  if (const ProxyHost* proxy = node.proxy()) s.proxy_clients = proxy->shared().counters.current();
  return s;
}

std::vector<ConsoleSample> samples_to_now(const ConsoleHistory& history, const Node& node, core::TimePoint now) {
  auto samples = history.samples();
  if (samples.empty() || samples.back().time < now) samples.push_back(sample_node(node, now));
  return samples;
}

ConsoleHistory::ConsoleHistory(std::size_t capacity) : ring_(std::max<std::size_t>(capacity, 1)) {}

void ConsoleHistory::add(const ConsoleSample& sample) {
  ring_[next_] = sample;
  next_ = (next_ + 1) % ring_.size();
  size_ = std::min(size_ + 1, ring_.size());
}

std::vector<ConsoleSample> ConsoleHistory::samples() const {
  std::vector<ConsoleSample> out;
  out.reserve(size_);
  const std::size_t first = (next_ + ring_.size() - size_) % ring_.size();
  for (std::size_t i = 0; i < size_; ++i) out.push_back(ring_[(first + i) % ring_.size()]);
  return out;
}

std::vector<double> rate_in(const std::vector<ConsoleSample>& s) { return rates(s, &ConsoleSample::bytes_in); }
std::vector<double> rate_out(const std::vector<ConsoleSample>& s) { return rates(s, &ConsoleSample::bytes_out); }
std::optional<double> mean_rate_in(const std::vector<ConsoleSample>& s) {
  return mean_rate(s, &ConsoleSample::bytes_in);
}
std::optional<double> mean_rate_out(const std::vector<ConsoleSample>& s) {
  return mean_rate(s, &ConsoleSample::bytes_out);
}

std::string svg_chart(std::string_view title, const std::vector<double>& series) {
  constexpr int kPadLeft = 48, kPadTop = 16, kPadBottom = 4;
  const std::string w = std::to_string(kSvgWidth), h = std::to_string(kSvgHeight);
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"" + w + "\" height=\"" + h +
                    "\" viewBox=\"0 0 " + w + " " + h + "\" role=\"img\"><title>" + html_escape(title) +
                    "</title><text x=\"2\" y=\"11\">" + html_escape(title) + "</text>";
  if (series.empty()) return out + "<text x=\"" + std::to_string(kPadLeft) + "\" y=\"48\">no data</text></svg>";
  const auto [lo_it, hi_it] = std::minmax_element(series.begin(), series.end());
  const double lo = *lo_it, hi = *hi_it, span = hi > lo ? hi - lo : 1.0;
  const double plot_w = kSvgWidth - kPadLeft - 2, plot_h = kSvgHeight - kPadTop - kPadBottom;
  out += "<text x=\"2\" y=\"" + std::to_string(kPadTop + 10) + "\">" + number(hi) + "</text>";
  out += "<text x=\"2\" y=\"" + std::to_string(kSvgHeight - kPadBottom) + "\">" + number(lo) + "</text>";
  out += "<polyline fill=\"none\" stroke=\"#2a6\" stroke-width=\"1.5\" points=\"";
  const double step = series.size() > 1 ? plot_w / static_cast<double>(series.size() - 1) : 0.0;
  for (std::size_t i = 0; i < series.size(); ++i) {
    // A single point is drawn as a short flat line so it is visible.
    const double x = series.size() > 1 ? kPadLeft + step * static_cast<double>(i) : kPadLeft;
    const double y = kPadTop + plot_h - (series[i] - lo) / span * plot_h;
    if (i > 0) out += ' ';
    out += coordinate(x) + "," + coordinate(y);
    if (series.size() == 1) out += " " + coordinate(kPadLeft + plot_w) + "," + coordinate(y);
  }
  return out + "\"/></svg>";
}

std::string svg_load_bar(std::uint32_t active, std::uint32_t soft, std::uint32_t hard) {
  const double full = hard > 0 ? static_cast<double>(hard) : 1.0;
  const double fill = std::min(1.0, static_cast<double>(active) / full) * kSvgBarWidth;
  const double tick = std::min(1.0, static_cast<double>(soft) / full) * kSvgBarWidth;
  const char* color = active >= hard && hard > 0 ? "#c33" : active > soft ? "#e90" : "#2a6";
  const std::string w = std::to_string(kSvgBarWidth), h = std::to_string(kSvgBarHeight);
  const std::string load = std::to_string(active) + "/" + std::to_string(soft) + "/" + std::to_string(hard);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"bar\" width=\"" + w + "\" height=\"" + h +
         "\" viewBox=\"0 0 " + w + " " + h + "\" role=\"img\"><title>" + load + "</title><rect width=\"" + w +
         "\" height=\"" + h + "\" fill=\"#eee\"/><rect width=\"" + coordinate(fill) + "\" height=\"" + h +
         "\" fill=\"" + color + "\"/><rect x=\"" + coordinate(std::max(0.0, tick - 1)) + "\" width=\"2\" height=\"" +
         h + "\" fill=\"#333\"/></svg>";
}

}  // namespace hop::router
