#include "hop/tunnels/stream_receiver.h"

#include <algorithm>
#include <limits>

namespace hop::tunnels {

StreamReceiver::StreamReceiver(std::size_t buffer_limit) : limit_(buffer_limit) {}

DataOutcome StreamReceiver::on_data(std::uint64_t seq, core::ByteView payload, bool fin) {
  const std::uint64_t end = seq + payload.size();
  if ((fin && !accept_fin(end)) || (fin_ && end > *fin_)) {
    ++stats_.protocol_errors;
    return DataOutcome::kRejected;
  }
  const std::uint64_t begin = std::max(seq, next_);
  const std::uint64_t stop = std::min(end, right_edge());
  if (end > right_edge()) stats_.beyond_window_bytes += end - std::max(seq, right_edge());
  const std::uint64_t before = next_;
  const std::size_t kept = begin < stop ? insert(begin, stop, seq, payload) : 0;
  stats_.duplicate_bytes += (stop > seq ? stop - seq : 0) - kept;
  if (kept == 0) return end > right_edge() && payload.size() > 0 ? DataOutcome::kRejected : DataOutcome::kDuplicate;
  stats_.bytes_received += kept;
  drain();
  if (next_ > before) return DataOutcome::kInOrder;
  latest_ = begin;
  return DataOutcome::kOutOfOrder;
}

bool StreamReceiver::accept_fin(std::uint64_t fin_offset) {
  if (fin_) return *fin_ == fin_offset;
  const std::uint64_t highest = above_.empty() ? next_ : std::prev(above_.end())->first + std::prev(above_.end())->second.size();
  if (fin_offset < highest) return false;  // data already arrived past this FIN
  fin_ = fin_offset;
  return true;
}

// Keeps the parts of [begin, end) not held yet; returns how many bytes that was.
std::size_t StreamReceiver::insert(std::uint64_t begin, std::uint64_t end, std::uint64_t seq,
                                   core::ByteView payload) {
  std::size_t kept = 0;
  auto it = above_.upper_bound(begin);
  if (it != above_.begin()) {
    auto prev = std::prev(it);
    begin = std::max(begin, prev->first + prev->second.size());
  }
  while (begin < end) {
    it = above_.lower_bound(begin);
    const std::uint64_t stop = (it == above_.end()) ? end : std::min(end, it->first);
    if (stop > begin) {
      auto first = payload.begin() + static_cast<std::ptrdiff_t>(begin - seq);
      above_.emplace(begin, core::Bytes(first, first + static_cast<std::ptrdiff_t>(stop - begin)));
      kept += stop - begin;
    }
    if (it == above_.end()) break;
    begin = it->first + it->second.size();
  }
  return kept;
}

void StreamReceiver::drain() {
  while (!above_.empty() && above_.begin()->first == next_) {
    const core::Bytes& piece = above_.begin()->second;
    ready_.insert(ready_.end(), piece.begin(), piece.end());
    next_ += piece.size();
    above_.erase(above_.begin());
  }
}

core::Bytes StreamReceiver::read(std::size_t max) {
  const std::size_t n = std::min(max, ready_.size());
  core::Bytes out(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(n));
  ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(n));
  return out;
}

std::uint64_t StreamReceiver::ack() const { return is_complete() ? next_ + 1 : next_; }

std::uint32_t StreamReceiver::window() const {
  const std::uint64_t free = right_edge() - next_;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(free, std::numeric_limits<std::uint32_t>::max()));
}

std::vector<SackRange> StreamReceiver::sacks() const {
  std::vector<SackRange> ranges;
  for (const auto& [offset, piece] : above_) {
    if (!ranges.empty() && ranges.back().end == offset) {
      ranges.back().end += piece.size();
    } else {
      ranges.push_back({offset, offset + piece.size()});
    }
  }
  if (ranges.size() <= kMaxSackRanges) return ranges;
  auto latest = std::find_if(ranges.begin(), ranges.end(), [&](const SackRange& r) { return r.end > latest_; });
  std::vector<SackRange> chosen(ranges.begin(), ranges.begin() + kMaxSackRanges - 1);
  const SackRange last = (latest != ranges.end() && latest - ranges.begin() >= static_cast<std::ptrdiff_t>(kMaxSackRanges - 1))
                             ? *latest : ranges[kMaxSackRanges - 1];
  chosen.push_back(last);
  return chosen;
}

}  // namespace hop::tunnels
