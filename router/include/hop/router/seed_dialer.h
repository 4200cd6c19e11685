// Keeps links to the configured seeds: dials each, and redials with exponential backoff
// (1 s doubling to 60 s) after a failure or a lost link. Pure: takes `now`, returns whom to dial.
#pragma once

#include <optional>
#include <vector>

#include "hop/core/runtime.h"
#include "hop/transport/link_layer.h"

namespace hop::router {

class SeedDialer {
 public:
  static constexpr core::Duration kInitialBackoff = std::chrono::seconds(1);
  static constexpr core::Duration kMaxBackoff = std::chrono::seconds(60);

  SeedDialer(std::vector<transport::PeerContact> seeds, core::TimePoint now);

  // Adds a seed, first dialed at `now`; no effect if its static key is a seed already.
  void add(transport::PeerContact contact, core::TimePoint now);
  // Seeds due for a dial now (not linked, backoff elapsed); marks them as dialing.
  std::vector<transport::PeerContact> due(core::TimePoint now);
  // Returns true when the key is one of our seeds.
  bool on_linked(const core::crypto::Key32& static_key);
  // A dial failed or a link went down: next attempt after the current backoff, which doubles.
  void on_failed(const core::crypto::Key32& static_key, core::TimePoint now);
  std::optional<core::TimePoint> next_deadline() const;
  std::size_t size() const { return seeds_.size(); }

 private:
  enum class State { kIdle, kDialing, kLinked };
  struct Seed {
    transport::PeerContact contact;
    State state = State::kIdle;
    core::TimePoint next_attempt{};
    core::Duration backoff = kInitialBackoff;
  };
  Seed* find(const core::crypto::Key32& static_key);
  std::vector<Seed> seeds_;
};

}  // namespace hop::router
