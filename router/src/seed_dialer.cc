#include "hop/router/seed_dialer.h"

#include <algorithm>

namespace hop::router {

SeedDialer::SeedDialer(std::vector<transport::PeerContact> seeds, core::TimePoint now) {
  for (auto& contact : seeds) seeds_.push_back({std::move(contact), State::kIdle, now, kInitialBackoff});
}

void SeedDialer::add(transport::PeerContact contact, core::TimePoint now) {
  if (find(contact.static_key)) return;
  seeds_.push_back({std::move(contact), State::kIdle, now, kInitialBackoff});
}

std::vector<transport::PeerContact> SeedDialer::due(core::TimePoint now) {
  std::vector<transport::PeerContact> out;
  for (Seed& s : seeds_) {
    if (s.state == State::kIdle && s.next_attempt <= now) {
      s.state = State::kDialing;
      out.push_back(s.contact);
    }
  }
  return out;
}

SeedDialer::Seed* SeedDialer::find(const core::crypto::Key32& static_key) {
  auto it = std::find_if(seeds_.begin(), seeds_.end(),
                         [&](const Seed& s) { return s.contact.static_key == static_key; });
  return it == seeds_.end() ? nullptr : &*it;
}

bool SeedDialer::on_linked(const core::crypto::Key32& static_key) {
  Seed* s = find(static_key);
  if (!s) return false;
  s->state = State::kLinked;
  s->backoff = kInitialBackoff;
  return true;
}

void SeedDialer::on_failed(const core::crypto::Key32& static_key, core::TimePoint now) {
  Seed* s = find(static_key);
  if (!s) return;
  s->state = State::kIdle;
  s->next_attempt = now + s->backoff;
  s->backoff = std::min(s->backoff * 2, kMaxBackoff);
}

std::optional<core::TimePoint> SeedDialer::next_deadline() const {
  std::optional<core::TimePoint> next;
  for (const Seed& s : seeds_) {
    if (s.state == State::kIdle && (!next || s.next_attempt < *next)) next = s.next_attempt;
  }
  return next;
}

}  // namespace hop::router
