// JsonValue and parse_json: a small JSON reader (RFC 8259: objects, arrays, strings with escapes,
// numbers, true/false/null) for what the CLI reads from a console. Input is untrusted: size and
// nesting are bounded and every malformed document is an error, never a crash.
// Thread affinity: none (values are immutable once parsed).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hop/core/result.h"

namespace hop::router {

inline constexpr std::size_t kJsonMaxSize = 16 * 1024 * 1024;  // the console client's response limit
inline constexpr std::size_t kJsonMaxDepth = 64;               // the console nests 4 deep

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  using Members = std::vector<std::pair<std::string, JsonValue>>;

  JsonValue() = default;
  static JsonValue boolean(bool b);
  static JsonValue number(std::string text);  // `text` already checked to be a JSON number
  static JsonValue string(std::string s);
  static JsonValue array(std::vector<JsonValue> items);
  static JsonValue object(Members members);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  // The member `key` of an object; a null value if absent or if this is not an object.
  const JsonValue& operator[](std::string_view key) const;
  // The elements of an array, the members of an object (in document order); empty otherwise.
  const std::vector<JsonValue>& items() const { return items_; }
  const Members& members() const { return members_; }
  std::optional<bool> as_bool() const;
  std::optional<double> as_number() const;
  // A string's decoded text (UTF-8), or a number's text as written; nullopt for other kinds.
  std::optional<std::string_view> as_text() const;

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<JsonValue> items_;
  Members members_;
};

// Parses one JSON document (surrounding whitespace allowed). Errors say what and at which byte;
// larger than kJsonMaxSize or deeper than kJsonMaxDepth is an error too.
core::Result<JsonValue> parse_json(std::string_view text);

}  // namespace hop::router
