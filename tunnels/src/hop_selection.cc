#include "hop/tunnels/hop_selection.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <unordered_set>
#include <utility>

#include "hop/core/errors.h"
#include "hop/transport/link_layer.h"
#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

// A score of 0 still gets a chance, so a pool of unscored peers can build tunnels at all.
constexpr double kMinWeight = 1e-6;
// No peer weighs more than this many median peers: score picks better peers, but a single
// outstanding one must not end up in most tunnels (DESIGN.md, "Hop selection").
constexpr double kMaxWeightOverMedian = 4.0;
constexpr std::size_t kRuleCount = 3;  // the Relaxation values

using RuleMask = unsigned;  // bit r: breaks Relaxation r; a higher bit is a worse break

constexpr RuleMask bit(Relaxation r) { return 1u << static_cast<unsigned>(r); }

// A pool entry that passed the rules never relaxed, with what it would break.
struct Usable {
  core::RouterHash hash;
  double weight;
  std::uint64_t subnet;     // see subnet_of()
  RuleMask static_breaks;   // kAvoidList, kBandwidth; kSubnet depends on the hops drawn before
};

using Bytes16 = std::array<std::uint8_t, 16>;

std::optional<std::uint16_t> parse_number(std::string_view text, int base, unsigned max) {
  unsigned v = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (text.empty() || err != std::errc() || end != text.data() + text.size() || v > max) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// The 16-bit groups of an address, filled left to right.
struct Groups {
  std::array<std::uint16_t, 8> value{};
  std::size_t count = 0;

  bool push(unsigned group) {
    if (count == value.size()) return false;
    value[count++] = static_cast<std::uint16_t>(group);
    return true;
  }
};

// "a.b.c.d" as two groups.
bool parse_dotted(std::string_view text, Groups& out) {
  std::array<unsigned, 4> octet{};
  for (std::size_t i = 0; i < octet.size(); ++i) {
    const auto dot = text.find('.');
    if ((dot == std::string_view::npos) != (i == octet.size() - 1)) return false;
    const auto value = parse_number(text.substr(0, dot), 10, 255);
    if (!value) return false;
    octet[i] = *value;
    text.remove_prefix(dot == std::string_view::npos ? text.size() : dot + 1);
  }
  return out.push(octet[0] << 8 | octet[1]) && out.push(octet[2] << 8 | octet[3]);
}

// "a:b:c", the last group possibly a dotted IPv4.
bool parse_groups(std::string_view text, Groups& out) {
  while (!text.empty()) {
    const auto colon = text.find(':');
    const std::string_view group = text.substr(0, colon);
    if (colon == std::string_view::npos && group.find('.') != std::string_view::npos) {
      return parse_dotted(group, out);
    }
    const auto value = parse_number(group, 16, 0xffff);
    if (!value || !out.push(*value)) return false;
    text.remove_prefix(colon == std::string_view::npos ? text.size() : colon + 1);
  }
  return true;
}

// IPv6 text ("::" at most once) as 16 bytes; IPv4 text as IPv4-mapped IPv6 (::ffff:a.b.c.d),
// so that both spellings of one IPv4 address agree.
std::optional<Bytes16> to_bytes16(std::string_view ip) {
  Groups head;
  Groups tail;
  if (ip.find(':') == std::string_view::npos) {
    head = {{0, 0, 0, 0, 0, 0xffff}, 6};
    if (!parse_dotted(ip, head)) return std::nullopt;
  } else if (const auto gap = ip.find("::"); gap != std::string_view::npos) {
    if (!parse_groups(ip.substr(0, gap), head) || !parse_groups(ip.substr(gap + 2), tail) ||
        head.count + tail.count > 7) {
      return std::nullopt;
    }
  } else if (!parse_groups(ip, head) || head.count != 8) {
    return std::nullopt;
  }
  std::array<std::uint16_t, 8> groups{};  // "::" stands for the zeros between head and tail
  std::copy_n(head.value.begin(), head.count, groups.begin());
  std::copy_n(tail.value.begin(), tail.count, groups.end() - static_cast<std::ptrdiff_t>(tail.count));
  Bytes16 bytes{};
  for (std::size_t i = 0; i < groups.size(); ++i) {
    bytes[2 * i] = static_cast<std::uint8_t>(groups[i] >> 8);
    bytes[2 * i + 1] = static_cast<std::uint8_t>(groups[i]);
  }
  return bytes;
}

// The IPv4 /16 or IPv6 /32 a host is in, as one key; the top byte keeps the families apart.
// IPv4-mapped IPv6 counts as IPv4, or one peer could sit in "two" subnets.
std::optional<std::uint64_t> subnet_of(std::string_view host) {
  const auto canonical = transport::parse_ip(host);
  if (!canonical) return std::nullopt;
  const auto b = to_bytes16(*canonical);
  if (!b) return std::nullopt;
  constexpr Bytes16 kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(b->begin(), b->begin() + 12, kMappedPrefix.begin())) {
    return (std::uint64_t{4} << 56) | (std::uint64_t{(*b)[12]} << 8) | (*b)[13];
  }
  return (std::uint64_t{6} << 56) | (std::uint64_t{(*b)[0]} << 24) | (std::uint64_t{(*b)[1]} << 16) |
         (std::uint64_t{(*b)[2]} << 8) | (*b)[3];
}

bool contains(const std::vector<core::RouterHash>& list, const core::RouterHash& hash) {
  return std::find(list.begin(), list.end(), hash) != list.end();
}

// Floors at kMinWeight (also turns NaN into it) and caps at kMaxWeightOverMedian medians.
void normalize_weights(std::vector<Usable>& usable) {
  if (usable.empty()) return;
  std::vector<double> weights;
  for (auto& u : usable) {
    u.weight = u.weight > kMinWeight ? u.weight : kMinWeight;
    weights.push_back(u.weight);
  }
  const auto middle = weights.begin() + static_cast<std::ptrdiff_t>(weights.size() / 2);
  std::nth_element(weights.begin(), middle, weights.end());
  const double cap = kMaxWeightOverMedian * *middle;
  for (auto& u : usable) u.weight = std::min(u.weight, cap);
}

// The pool without self, duplicates and hosts that are not numeric IPs.
std::vector<Usable> usable_peers(const std::vector<HopCandidate>& pool, const HopRequest& request,
                                 const HopRules& rules) {
  std::vector<Usable> usable;
  std::unordered_set<core::RouterHash> seen{request.self};
  for (const auto& c : pool) {
    const auto subnet = subnet_of(c.host);
    if (!subnet || !seen.insert(c.hash).second) continue;
    RuleMask breaks = 0;
    if (contains(request.avoid, c.hash)) breaks |= bit(Relaxation::kAvoidList);
    if (c.bandwidth_kbps < rules.min_bandwidth_kbps) breaks |= bit(Relaxation::kBandwidth);
    usable.push_back({c.hash, c.score, *subnet, breaks});
  }
  normalize_weights(usable);
  return usable;
}

// The rules a given number of relaxation steps turns into mere preferences.
RuleMask soft_rules(std::size_t steps) { return (1u << steps) - 1; }

// How many hops the pool can give with `soft` relaxed: one per subnet while kSubnet holds.
std::size_t capacity(const std::vector<Usable>& usable, RuleMask soft) {
  std::unordered_set<std::uint64_t> subnets;
  std::size_t peers = 0;
  for (const auto& u : usable) {
    if (u.static_breaks & ~soft) continue;
    ++peers;
    subnets.insert(u.subnet);
  }
  return (soft & bit(Relaxation::kSubnet)) ? peers : subnets.size();
}

// Uniform in [0, 1) from the top 53 bits: the same on every standard library, unlike
// std::uniform_real_distribution, so a seed replays the same tunnels in every build.
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1p-53; }

// Weighted draw among `indices` (non-empty).
std::size_t weighted_pick(const std::vector<Usable>& usable, const std::vector<std::size_t>& indices,
                          std::mt19937_64& rng) {
  double total = 0;
  for (auto i : indices) total += usable[i].weight;
  double r = uniform01(rng) * total;
  for (auto i : indices) {
    if (r < usable[i].weight) return i;
    r -= usable[i].weight;
  }
  return indices.back();  // rounding left r just above the last weight
}

struct Drawn {
  std::vector<core::RouterHash> hops;
  RuleMask broken = 0;
};

// The peers still available that break the fewest rules (by RuleMask order) after the hops
// drawn so far, and what they break; hard rules (not in `soft`) rule a peer out.
std::pair<std::vector<std::size_t>, RuleMask> least_breaking(
    const std::vector<Usable>& usable, const std::unordered_set<std::uint64_t>& used_subnets, RuleMask soft) {
  std::vector<std::size_t> best;
  RuleMask best_breaks = ~RuleMask{0};
  for (std::size_t i = 0; i < usable.size(); ++i) {
    RuleMask breaks = usable[i].static_breaks;
    if (used_subnets.contains(usable[i].subnet)) breaks |= bit(Relaxation::kSubnet);
    if ((breaks & ~soft) || breaks > best_breaks) continue;
    if (breaks < best_breaks) {
      best.clear();
      best_breaks = breaks;
    }
    best.push_back(i);
  }
  return {std::move(best), best_breaks};
}

// Draws without replacement, each hop from least_breaking(), so a relaxed rule is broken only
// as much as the pool needs. Never runs dry when capacity(usable, soft) >= length: while the
// subnet rule holds, each draw uses up exactly one subnet.
Drawn draw(std::vector<Usable> usable, std::size_t length, RuleMask soft, std::mt19937_64& rng) {
  Drawn out;
  std::unordered_set<std::uint64_t> used_subnets;
  while (out.hops.size() < length) {
    const auto [best, breaks] = least_breaking(usable, used_subnets, soft);
    const std::size_t pick = weighted_pick(usable, best, rng);
    out.hops.push_back(usable[pick].hash);
    out.broken |= breaks;
    used_subnets.insert(usable[pick].subnet);
    usable.erase(usable.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  return out;
}

// Fisher-Yates with raw engine output (modulo bias below 2^-60 for 7 hops): weighted draws
// come out best first, and the position in a tunnel should say nothing about a peer's score.
void shuffle(std::vector<core::RouterHash>& hops, std::mt19937_64& rng) {
  for (std::size_t i = hops.size(); i > 1; --i) std::swap(hops[i - 1], hops[rng() % i]);
}

HopChoice to_choice(Drawn drawn) {
  HopChoice choice{std::move(drawn.hops), {}};
  for (std::size_t r = 0; r < kRuleCount; ++r) {
    const auto rule = static_cast<Relaxation>(r);
    if (drawn.broken & bit(rule)) choice.relaxed.push_back(rule);
  }
  return choice;
}

}  // namespace

std::string_view to_string(Relaxation relaxation) {
  switch (relaxation) {
    case Relaxation::kAvoidList: return "avoid-list";
    case Relaxation::kSubnet: return "subnet";
    case Relaxation::kBandwidth: return "bandwidth";
  }
  return "unknown";
}

core::Result<HopChoice> select_hops(const std::vector<HopCandidate>& pool, const HopRequest& request,
                                    const HopRules& rules, std::mt19937_64& rng) {
  if (request.length > kMaxHops) {
    return core::make_error(core::Errc::kInvalidArgument,
                            "tunnel length " + std::to_string(request.length) + " (at most " +
                                std::to_string(kMaxHops) + " hops)");
  }
  const std::vector<Usable> usable = usable_peers(pool, request, rules);
  for (std::size_t steps = 0; steps <= kRuleCount; ++steps) {
    if (capacity(usable, soft_rules(steps)) < request.length) continue;
    Drawn drawn = draw(usable, request.length, soft_rules(steps), rng);
    shuffle(drawn.hops, rng);
    return to_choice(std::move(drawn));
  }
  return core::make_error(Errc::kNoRoute,
                          "selecting " + std::to_string(request.length) + " hops: only " +
                              std::to_string(usable.size()) + " usable peers (of " +
                              std::to_string(pool.size()) +
                              " in the selection pool) even with every rule relaxed; wait for the "
                              "NetDB to learn more peers or build shorter tunnels");
}

}  // namespace hop::tunnels
