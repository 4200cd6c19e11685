// Tunnel cells (docs/tunnels.md, "Cells"): the fixed-size unit a tunnel carries, its per-hop
// layer, the end-to-end seal, fragmentation and reassembly. Pure and sans-I/O.
// Thread affinity: none for the functions; a CellWriter or CellReader belongs to one tunnel,
// used from one thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "hop/core/bytes.h"
#include "hop/core/crypto.h"
#include "hop/core/result.h"
#include "hop/core/runtime.h"
#include "hop/tunnels/build_record.h"
#include "hop/tunnels/constants.h"

namespace hop::tunnels {

// A cell as it travels in a link cell block: tunnel_id (4) || nonce (12) || body (1008).
using Cell = std::array<std::uint8_t, kCellSize>;
using CellNonce = core::crypto::Nonce12;

TunnelId cell_tunnel_id(const Cell& cell);
void set_cell_tunnel_id(Cell& cell, TunnelId id);
// A cell block from the link: exactly kCellSize bytes, else nullopt.
std::optional<Cell> cell_from_block(core::ByteView block);

// One hop's layer keys.
struct HopLayer {
  core::crypto::Key32 layer_key{};
  core::crypto::Key32 iv_key{};
};

// The keyed nonce permutation F and its inverse.
CellNonce permute_nonce(const core::crypto::Key32& iv_key, const CellNonce& nonce);
CellNonce unpermute_nonce(const core::crypto::Key32& iv_key, const CellNonce& nonce);

// What every hop does to a cell, in both directions: body ^= ChaCha20(layer_key, nonce), then
// nonce = F(iv_key, nonce). The tunnel id is left as it is (the caller rewrites it).
void apply_hop_layer(Cell& cell, const HopLayer& layer);

// Outbound owner: XORs every hop's layer onto a sealed cell (hops in traffic order, h1 first),
// computing each hop's nonce from the cell's nonce with F, so that each hop's apply_hop_layer()
// removes exactly its own and the endpoint finds the sealed body. The cell's nonce is left as
// h1 must receive it.
void add_outbound_layers(Cell& cell, const std::vector<HopLayer>& hops);
// Inbound owner: the cell as the last hop sent it; inverts F hop by hop (last hop first) and
// removes every hop's layer, leaving the body as the gateway sealed it.
void remove_inbound_layers(Cell& cell, const std::vector<HopLayer>& hops);

// The holder of a tunnel's integrity key on the sending side (outbound owner, inbound gateway):
// splits messages into sealed cells with a fresh random nonce each, numbered from seq 1.
class CellWriter {
 public:
  explicit CellWriter(const core::crypto::Key32& integrity_key);
  ~CellWriter();
  // Cells for `message` (1..kMaxTunnelMessage bytes), tunnel id set to `first_hop_id`, body
  // sealed end to end and not yet layered. Errors: kTooLarge over kMaxTunnelMessage, kMalformed
  // for an empty message, kNoRoute once the tunnel's 2^32-1 sequence numbers are used up.
  core::Result<std::vector<Cell>> write(core::ByteView message, TunnelId first_hop_id);
  std::uint32_t next_seq() const { return seq_; }

 private:
  core::crypto::SecretKey key_;
  std::uint32_t seq_ = 1;
  std::uint32_t message_id_;
};

struct CellReaderCounters {
  std::uint64_t cells = 0;
  std::uint64_t integrity_failures = 0;
  std::uint64_t replays = 0;
  std::uint64_t malformed = 0;         // a bad fragment or an oversize message (after the tag passed)
  std::uint64_t expired_messages = 0;  // reassembly timed out or was over the limit
  std::uint64_t messages = 0;
};

// The holder of a tunnel's integrity key on the receiving side (outbound endpoint, inbound owner):
// checks each cell's tag and sequence number, and reassembles messages.
class CellReader {
 public:
  explicit CellReader(const core::crypto::Key32& integrity_key);
  ~CellReader();
  // A cell with every layer removed. Returns a message when this cell completed one, nullopt when
  // more fragments are due; errors (counted): kIntegrity, kReplay, kMalformed, kTooLarge.
  core::Result<std::optional<core::Bytes>> read(const Cell& cell, core::TimePoint now);
  const CellReaderCounters& counters() const { return counters_; }

 private:
  struct Partial {
    core::TimePoint started{};
    std::map<std::uint16_t, core::Bytes> fragments;
    std::optional<std::uint16_t> last;  // index of the fragment flagged last, once seen
    std::size_t bytes = 0;
  };
  struct Fragment;  // one cell's parsed inner header and data
  using ReadResult = core::Result<std::optional<core::Bytes>>;

  // The replay window: a seq is checked before its tag and marked seen only after it verified,
  // so forged cells cannot fill the window.
  bool is_fresh_seq(std::uint32_t seq) const;
  void mark_seen(std::uint32_t seq);
  ReadResult on_fragment(const Fragment& fragment, core::TimePoint now);
  static core::Status add_fragment(Partial& partial, const Fragment& fragment);
  std::map<std::uint32_t, Partial>::iterator start_partial(std::uint32_t message_id, core::TimePoint now);
  ReadResult deliver(core::Bytes message);
  void expire(core::TimePoint now);

  core::crypto::SecretKey key_;
  std::uint32_t highest_seq_ = 0;
  std::uint64_t window_ = 0;  // bit i: highest_seq_ - i was seen
  std::map<std::uint32_t, Partial> partial_;
  CellReaderCounters counters_;
};

}  // namespace hop::tunnels
