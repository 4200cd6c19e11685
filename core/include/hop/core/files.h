// Crash-safe file helpers for persisted state.
#pragma once

#include <filesystem>

#include "hop/core/bytes.h"
#include "hop/core/result.h"

namespace hop::core {

// Writes `data` to a temporary file beside `path` created with `mode`, fsyncs it, renames it over
// `path` and fsyncs the directory: a reader sees the old file or the new one, never a mix.
Status atomic_write_file(const std::filesystem::path& path, ByteView data, unsigned mode);

// Reads a whole file of at most `max_size` bytes (larger files are refused, not truncated).
Result<Bytes> read_file(const std::filesystem::path& path, std::size_t max_size);

}  // namespace hop::core
