// Link frames after the handshake: u16 big-endian length, then an AEAD ciphertext (counter nonce,
// empty AD) whose plaintext is a sequence of blocks [type u8][length u16 BE][body]. Sans-I/O.
#pragma once

#include <cstdint>
#include <limits>

#include "hop/core/bytes.h"
#include "hop/core/result.h"
#include "hop/transport/cipher_state.h"
#include "hop/transport/constants.h"

namespace hop::transport {

enum class BlockType : std::uint8_t {
  kPadding = 0,  // ignored; hides sizes
  kControl = 1,  // link control (Protobuf hop.v1.LinkControl): ping, pong, close
  kMessage = 2,  // an upper-layer message (NetDB, tunnel build), opaque to the link
  kCell = 3,     // a tunnel cell, opaque to the link
};

// Receives the blocks of each decrypted frame. A returned error closes the link.
class BlockSink {
 public:
  virtual ~BlockSink() = default;
  virtual core::Status on_block(BlockType type, core::ByteView body) = 0;
};

// Parses a frame's plaintext into blocks; a truncated block is an error. Unknown types are
// passed on (the sink decides to skip them).
core::Status parse_blocks(core::ByteView plaintext, BlockSink& sink);

// Builds and seals frames into an output buffer. Thread affinity: one link's thread.
class FrameWriter {
 public:
  explicit FrameWriter(CipherState send) : cipher_(std::move(send)) {}

  // Appends a block to the open frame, sealing it first if the block does not fit.
  core::Status add_block(BlockType type, core::ByteView body);
  // Seals the open frame, if any.
  core::Status flush();
  // Sealed bytes ready for the socket, followed by the open frame's bytes if not yet flushed.
  bool has_sealed_output() const { return sealed_end_ > 0; }
  std::size_t buffered_bytes() const { return out_.size(); }
  // Hands the sealed bytes to the caller (swapping buffers to keep their capacity); `into` is
  // cleared first. An open frame stays.
  void take_sealed(core::Bytes& into);
  std::uint64_t frames_sealed() const { return frames_; }

 private:
  static constexpr std::size_t kNoFrame = std::numeric_limits<std::size_t>::max();
  CipherState cipher_;
  core::Bytes out_;
  std::size_t sealed_end_ = 0;       // out_[0, sealed_end_) is sealed
  std::size_t frame_start_ = kNoFrame;  // where the open frame's length prefix starts
  std::uint64_t frames_ = 0;
};

// Decrypts frames in place and hands their blocks to a sink. Thread affinity: one link's thread.
class FrameReader {
 public:
  explicit FrameReader(CipherState receive, std::size_t max_frame = kMaxFrameSize)
      : cipher_(std::move(receive)), max_frame_(max_frame) {}

  // Consumes every whole frame at the front of `data` and returns how many bytes it used; the
  // rest (a partial frame) stays with the caller. A length outside [16, max_frame] fails before
  // anything is read or allocated for it; so does a frame that fails authentication.
  core::Result<std::size_t> consume(core::MutableByteView data, BlockSink& sink);
  std::uint64_t frames_opened() const { return frames_; }

 private:
  CipherState cipher_;
  std::size_t max_frame_;
  std::uint64_t frames_ = 0;
};

}  // namespace hop::transport
