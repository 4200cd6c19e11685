// Seed files: one peer per line as host:port:static-key; '#' starts a comment.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "hop/core/result.h"
#include "hop/transport/link_layer.h"

namespace hop::router {

// Parses seed text; an invalid line is an error naming the line (a seed file is operator input,
// so we refuse it whole rather than guess).
core::Result<std::vector<transport::PeerContact>> parse_seeds(std::string_view text,
                                                             const std::string& origin);
core::Result<std::vector<transport::PeerContact>> read_seed_file(const std::filesystem::path& path);

}  // namespace hop::router
