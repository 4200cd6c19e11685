// The persisted form of a PeerProfile (Protobuf hop.v1.PeerProfileRecord, kept out of this
// header). Used by NetDbStore; public so the decoder has a fuzz target and tools can read rows.
// Thread affinity: none (pure functions).
#pragma once

#include "hop/core/bytes.h"
#include "hop/core/result.h"
#include "hop/netdb/profile.h"

namespace hop::netdb {

// Serializes a profile. Times keep millisecond precision, RTTs microsecond precision.
core::Bytes encode_profile(const PeerProfile& profile);

// Decodes untrusted bytes of at most kMaxProfileRecordSize. Refuses anything that does not parse,
// has another version, more than kReachabilityWindow tests or values out of range
// (Errc::kCorruptStore, the context saying which).
core::Result<PeerProfile> decode_profile(core::ByteView bytes);

}  // namespace hop::netdb
