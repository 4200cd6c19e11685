// What the `hopline netdb` and `hopline proxy` commands share: exit codes, usage errors, help
// words and the splitting of options from positional words.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hop/core/errors.h"
#include "hop/core/result.h"

namespace hop::router {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // a file, the store or the console failed
inline constexpr int kExitUsage = 2;

// A mistake in the command line: printed with a pointer to the command's help, exit kExitUsage.
inline core::Error usage_error(const std::string& what) { return core::make_error(core::Errc::kInvalidArgument, what); }

inline bool is_help(std::string_view word) { return word == "help" || word == "--help" || word == "-h"; }

// Yields the word after an option (its value), or nullopt at the end.
using NextArg = std::function<std::optional<std::string>()>;

// Hands every "--option" word to `apply` (which may take its value with next()) and returns the
// other words in order; the first error `apply` returns stops it.
inline core::Result<std::vector<std::string>> split_args(
    const std::vector<std::string>& args, const std::function<core::Status(std::string_view, const NextArg&)>& apply) {
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (!args[i].starts_with("--")) {
      positional.push_back(args[i]);
      continue;
    }
    const NextArg next = [&]() -> std::optional<std::string> {
      if (i + 1 < args.size()) return args[++i];
      return std::nullopt;
    };
    if (auto st = apply(args[i], next); !st) return st.error();
  }
  return positional;
}

}  // namespace hop::router
