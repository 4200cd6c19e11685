// Printable encodings: lowercase hex and RFC 4648 base32 (lowercase, no padding).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hop/core/bytes.h"

namespace hop::core {

std::string to_hex(ByteView data);
// Returns nullopt on odd length or a non-hex character.
std::optional<Bytes> from_hex(std::string_view text);

std::string to_base32(ByteView data);
// Accepts upper or lower case; returns nullopt on any other character or bad trailing bits.
std::optional<Bytes> from_base32(std::string_view text);

}  // namespace hop::core
