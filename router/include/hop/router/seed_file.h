// Seed files: one seed per line; '#' starts a comment. A line is either a contact
// `host:port:static-key`, dialed and asked for its RouterInfo, or an exported RouterInfo
// `routerinfo:BASE32` (what `hopline netdb export` prints), added to the NetDB after verification.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "hop/core/bytes.h"
#include "hop/core/result.h"
#include "hop/transport/link_layer.h"

namespace hop::router {

struct Seeds {
  std::vector<transport::PeerContact> contacts;
  std::vector<core::Bytes> router_infos;  // signed wire bytes, not yet verified
};

// Parses seed text; an invalid line is an error naming the line (a seed file is operator input,
// so we refuse it whole rather than guess).
core::Result<Seeds> parse_seeds(std::string_view text, const std::string& origin);
core::Result<Seeds> read_seed_file(const std::filesystem::path& path);

}  // namespace hop::router
