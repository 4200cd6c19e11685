// ConsoleHistory: the console's last hour of the node, a fixed-size ring of samples (one every
// kConsoleHistoryPeriod, taken by ConsoleServer's timer), svg_chart() that draws one series as an
// inline SVG polyline for the HTML pages, and svg_load_bar() for a backend's load. No I/O, no
// clock reads: `now` comes in.
// Thread affinity: the node's network thread (sample_node reads the live node).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hop/core/runtime.h"

namespace hop::router {

class Node;

inline constexpr auto kConsoleHistoryPeriod = std::chrono::seconds(10);  // one sample per period
inline constexpr std::size_t kConsoleHistorySamples = 360;              // 1 h at kConsoleHistoryPeriod
inline constexpr auto kConsoleBuildWindow = std::chrono::minutes(10);   // build success ratio window

// The node at one instant. Byte counters are cumulative (rates come from two samples).
struct ConsoleSample {
  core::TimePoint time{};
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::size_t links = 0;
  std::size_t tunnels = 0;                  // our established tunnels, both directions
  std::optional<double> build_success;      // over kConsoleBuildWindow; nullopt: none finished
  std::optional<double> latency_ms;         // mean last tunnel test round trip; nullopt: none
  std::uint32_t proxy_clients = 0;          // geo-proxy client connections; 0 without a proxy
};

// Reads the sample from the node's public accessors.
ConsoleSample sample_node(const Node& node, core::TimePoint now);

class ConsoleHistory;

// The stored samples plus the node as it is at `now`, so graphs and rates reach the present.
std::vector<ConsoleSample> samples_to_now(const ConsoleHistory& history, const Node& node, core::TimePoint now);

class ConsoleHistory {
 public:
  explicit ConsoleHistory(std::size_t capacity = kConsoleHistorySamples);
  // Appends, dropping the oldest sample once full.
  void add(const ConsoleSample& sample);
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return ring_.size(); }
  // The samples, oldest first.
  std::vector<ConsoleSample> samples() const;

 private:
  std::vector<ConsoleSample> ring_;
  std::size_t next_ = 0;
  std::size_t size_ = 0;
};

// Bytes per second between consecutive samples (one fewer point than samples).
std::vector<double> rate_in(const std::vector<ConsoleSample>& samples);
std::vector<double> rate_out(const std::vector<ConsoleSample>& samples);
// Mean bytes per second from the first sample to the last (nullopt: fewer than two samples).
std::optional<double> mean_rate_in(const std::vector<ConsoleSample>& samples);
std::optional<double> mean_rate_out(const std::vector<ConsoleSample>& samples);

inline constexpr int kSvgWidth = 320;
inline constexpr int kSvgHeight = 80;

// A kSvgWidth x kSvgHeight <svg> with `title`, the series as a polyline (points spaced evenly,
// oldest left) and its min and max as axis labels; "no data" for an empty series. The title is
// HTML-escaped; the rest is numbers. No script, no external references.
std::string svg_chart(std::string_view title, const std::vector<double>& series);

inline constexpr int kSvgBarWidth = 100;
inline constexpr int kSvgBarHeight = 10;

// A kSvgBarWidth x kSvgBarHeight <svg> load bar: `active` of `hard` filled (green up to `soft`,
// orange above it, red when full), a dark tick at `soft`, titled "active/soft/hard". Numbers only.
std::string svg_load_bar(std::uint32_t active, std::uint32_t soft, std::uint32_t hard);

}  // namespace hop::router
