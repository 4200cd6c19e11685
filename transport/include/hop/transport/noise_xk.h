// Noise_XK_25519_ChaChaPoly_BLAKE2b as a sans-I/O state machine: no sockets, no clock reads,
// never logs key material. The chaining key, handshake hash and ephemeral are wiped on destruction.
//
//   XK:  <- s
//        ...
//        -> e, es
//        <- e, ee
//        -> s, se
#pragma once

#include <optional>

#include "hop/core/bytes.h"
#include "hop/core/crypto.h"
#include "hop/core/result.h"
#include "hop/transport/cipher_state.h"

namespace hop::transport {

struct TransportKeys {
  CipherState send;
  CipherState receive;
};

class NoiseXk {
 public:
  // The initiator knows the responder's static key in advance (from its RouterInfo or seed line).
  static NoiseXk initiator(const core::crypto::X25519Keypair& local_static,
                           const core::crypto::Key32& remote_static, core::ByteView prologue);
  static NoiseXk responder(const core::crypto::X25519Keypair& local_static,
                           core::ByteView prologue);
  ~NoiseXk();
  NoiseXk(NoiseXk&&) = default;
  NoiseXk& operator=(NoiseXk&&) = default;

  // For known-answer tests only: use this ephemeral instead of a random one.
  void set_ephemeral(const core::crypto::X25519Keypair& ephemeral) { ephemeral_ = ephemeral; }

  // Writes the next handshake message carrying `payload`; fails if it is not our turn.
  core::Result<core::Bytes> write_message(core::ByteView payload);
  // Reads the peer's next handshake message and returns its payload; fails if it does not
  // authenticate. After a failure the state is unusable.
  core::Result<core::Bytes> read_message(core::ByteView message);

  bool is_initiator() const { return initiator_; }
  bool is_complete() const { return step_ == 3; }
  // Number of handshake messages processed so far (0-3).
  int step() const { return step_; }
  const core::crypto::Hash64& handshake_hash() const { return h_; }
  // The peer's static key: known from the start for an initiator, after message 3 for a responder.
  const std::optional<core::crypto::Key32>& remote_static() const { return remote_static_; }
  // Only after is_complete(): the initiator's send key is the first output of Split().
  core::Result<TransportKeys> split();

 private:
  NoiseXk(bool initiator, const core::crypto::X25519Keypair& local_static, core::ByteView prologue);

  void mix_hash(core::ByteView data);
  void mix_key(core::ByteView input_key_material);
  core::Status mix_dh(const core::crypto::SecretKey& ours, const core::crypto::Key32& theirs);
  void encrypt_and_hash(core::ByteView plaintext, core::Bytes& out);
  core::Result<core::Bytes> decrypt_and_hash(core::ByteView ciphertext);

  bool initiator_;
  int step_ = 0;
  bool failed_ = false;
  core::crypto::Hash64 ck_{};
  core::crypto::Hash64 h_{};
  CipherState cipher_;
  core::crypto::X25519Keypair local_static_;
  std::optional<core::crypto::X25519Keypair> ephemeral_;
  std::optional<core::crypto::Key32> remote_static_;
  std::optional<core::crypto::Key32> remote_ephemeral_;
};

}  // namespace hop::transport
