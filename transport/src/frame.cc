#include "hop/transport/frame.h"

#include <cstring>
#include <string>

#include "hop/transport/errors.h"

namespace hop::transport {

core::Status parse_blocks(core::ByteView plaintext, BlockSink& sink) {
  std::size_t pos = 0;
  while (pos < plaintext.size()) {
    if (plaintext.size() - pos < kBlockHeaderSize) {
      return core::make_error(Errc::kMalformed, "truncated block header");
    }
    const auto type = static_cast<BlockType>(plaintext[pos]);
    const std::size_t len = core::get_u16(plaintext.data() + pos + 1);
    pos += kBlockHeaderSize;
    if (plaintext.size() - pos < len) return core::make_error(Errc::kMalformed, "truncated block body");
    if (auto st = sink.on_block(type, plaintext.subspan(pos, len)); !st) return st;
    pos += len;
  }
  return {};
}

core::Status FrameWriter::add_block(BlockType type, core::ByteView body) {
  if (body.size() > kMaxBlockBody) {
    return core::make_error(Errc::kMalformed, "block of " + std::to_string(body.size()) +
                                                  " bytes exceeds " + std::to_string(kMaxBlockBody));
  }
  if (frame_start_ != kNoFrame) {
    const std::size_t open_plaintext = out_.size() - frame_start_ - kLengthPrefixSize;
    if (open_plaintext + kBlockHeaderSize + body.size() > kMaxFramePlaintext) {
      if (auto st = flush(); !st) return st;
    }
  }
  if (frame_start_ == kNoFrame) {
    frame_start_ = out_.size();
    out_.resize(out_.size() + kLengthPrefixSize);
  }
  const std::size_t at = out_.size();
  out_.resize(at + kBlockHeaderSize + body.size());
  out_[at] = static_cast<std::uint8_t>(type);
  core::put_u16(out_.data() + at + 1, static_cast<std::uint16_t>(body.size()));
  if (!body.empty()) std::memcpy(out_.data() + at + kBlockHeaderSize, body.data(), body.size());
  return {};
}

core::Status FrameWriter::flush() {
  if (frame_start_ == kNoFrame) return {};
  const std::size_t plaintext_len = out_.size() - frame_start_ - kLengthPrefixSize;
  out_.resize(out_.size() + kAeadTagSize);
  core::put_u16(out_.data() + frame_start_, static_cast<std::uint16_t>(plaintext_len + kAeadTagSize));
  core::MutableByteView body(out_.data() + frame_start_ + kLengthPrefixSize,
                             plaintext_len + kAeadTagSize);
  if (auto st = cipher_.seal({}, body); !st) return st;
  frame_start_ = kNoFrame;
  sealed_end_ = out_.size();
  if (++frames_ % kRekeyIntervalFrames == 0) cipher_.rekey();
  return {};
}

void FrameWriter::take_sealed(core::Bytes& into) {
  into.clear();
  if (sealed_end_ == out_.size()) {
    std::swap(into, out_);
  } else {
    // An open frame follows the sealed bytes: move the sealed part out, keep the open frame.
    into.assign(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(sealed_end_));
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(sealed_end_));
    if (frame_start_ != kNoFrame) frame_start_ -= sealed_end_;
  }
  sealed_end_ = 0;
}

core::Result<std::size_t> FrameReader::consume(core::MutableByteView data, BlockSink& sink) {
  std::size_t pos = 0;
  while (data.size() - pos >= kLengthPrefixSize) {
    const std::size_t len = core::get_u16(data.data() + pos);
    if (len < kAeadTagSize || len > max_frame_) {
      return core::make_error(Errc::kBadLength, "frame length " + std::to_string(len));
    }
    if (data.size() - pos - kLengthPrefixSize < len) break;  // wait for the rest
    core::MutableByteView frame = data.subspan(pos + kLengthPrefixSize, len);
    if (auto st = cipher_.open({}, frame); !st) return st.error();
    if (++frames_ % kRekeyIntervalFrames == 0) cipher_.rekey();
    if (auto st = parse_blocks(frame.first(len - kAeadTagSize), sink); !st) return st.error();
    pos += kLengthPrefixSize + len;
  }
  return pos;
}

}  // namespace hop::transport
