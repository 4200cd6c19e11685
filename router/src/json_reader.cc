// A recursive-descent parser; the depth bound keeps the recursion (and the stack) small.
#include "hop/router/json_reader.h"

#include <charconv>
#include <cstdint>

#include "hop/core/errors.h"

namespace hop::router {

namespace {

using core::Errc;

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  core::Result<JsonValue> document() {
    auto v = value(0);
    if (!v) return v;
    skip_ws();
    if (i_ != s_.size()) return fail("unexpected text after the JSON value");
    return v;
  }

 private:
  core::Error fail(const std::string& what) const {
    return core::make_error(Errc::kInvalidArgument, "JSON: " + what + " at byte " + std::to_string(i_));
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  core::Result<JsonValue> value(std::size_t depth) {
    skip_ws();
    if (i_ >= s_.size()) return fail("unexpected end of input");
    const char c = s_[i_];
    if (c == '{' || c == '[') {
      if (depth >= kJsonMaxDepth) return fail("nested deeper than " + std::to_string(kJsonMaxDepth));
      return c == '{' ? object(depth + 1) : array(depth + 1);
    }
    if (c == '"') {
      auto s = string();
      if (!s) return s.error();
      return JsonValue::string(std::move(*s));
    }
    if (literal("null")) return JsonValue();
    if (literal("true")) return JsonValue::boolean(true);
    if (literal("false")) return JsonValue::boolean(false);
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    return fail("unexpected character");
  }

  core::Result<JsonValue> object(std::size_t depth) {
    ++i_;  // '{'
    JsonValue::Members members;
    if (eat('}')) return JsonValue::object(std::move(members));
    do {
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a member name");
      auto key = string();
      if (!key) return key.error();
      if (!eat(':')) return fail("expected ':'");
      auto v = value(depth);
      if (!v) return v;
      members.emplace_back(std::move(*key), std::move(*v));
    } while (eat(','));
    if (!eat('}')) return fail("expected ',' or '}'");
    return JsonValue::object(std::move(members));
  }

  core::Result<JsonValue> array(std::size_t depth) {
    ++i_;  // '['
    std::vector<JsonValue> items;
    if (eat(']')) return JsonValue::array(std::move(items));
    do {
      auto v = value(depth);
      if (!v) return v;
      items.push_back(std::move(*v));
    } while (eat(','));
    if (!eat(']')) return fail("expected ',' or ']'");
    return JsonValue::array(std::move(items));
  }

  std::size_t digits() {
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ - start;
  }

  // -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?
  core::Result<JsonValue> number() {
    const std::size_t start = i_;
    if (s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (digits() == 0) {
      return fail("bad number");
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (digits() == 0) return fail("bad number");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (digits() == 0) return fail("bad number");
    }
    return JsonValue::number(std::string(s_.substr(start, i_ - start)));
  }

  std::optional<std::uint32_t> hex4() {
    if (s_.size() - i_ < 4) return std::nullopt;
    std::uint32_t v = 0;
    const auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, v, 16);
    if (ec != std::errc() || end != s_.data() + i_ + 4) return std::nullopt;
    i_ += 4;
    return v;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // \uXXXX, with a surrogate pair joined into one code point; a lone surrogate becomes U+FFFD.
  core::Status unicode_escape(std::string& out) {
    auto cp = hex4();
    if (!cp) return fail("bad \\u escape");
    if (*cp >= 0xD800 && *cp < 0xDC00 && s_.substr(i_, 2) == "\\u") {
      const std::size_t save = i_;
      i_ += 2;
      auto low = hex4();
      if (low && *low >= 0xDC00 && *low < 0xE000) {
        append_utf8(out, 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00));
        return {};
      }
      i_ = save;
    }
    append_utf8(out, *cp >= 0xD800 && *cp < 0xE000 ? 0xFFFD : *cp);
    return {};
  }

  core::Result<std::string> string() {
    ++i_;  // '"'
    std::string out;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) break;
      const char e = s_[i_++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u':
          if (auto st = unicode_escape(out); !st) return st.error();
          break;
        default: return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

JsonValue JsonValue::boolean(bool b) {
  JsonValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}

JsonValue JsonValue::number(std::string text) {
  JsonValue v;
  v.kind_ = Kind::kNumber;
  v.text_ = std::move(text);
  return v;
}

JsonValue JsonValue::string(std::string s) {
  JsonValue v;
  v.kind_ = Kind::kString;
  v.text_ = std::move(s);
  return v;
}

JsonValue JsonValue::array(std::vector<JsonValue> items) {
  JsonValue v;
  v.kind_ = Kind::kArray;
  v.items_ = std::move(items);
  return v;
}

JsonValue JsonValue::object(Members members) {
  JsonValue v;
  v.kind_ = Kind::kObject;
  v.members_ = std::move(members);
  return v;
}

const JsonValue& JsonValue::operator[](std::string_view key) const {
  static const JsonValue kNull;
  for (const auto& [name, value] : members_) {
    if (name == key) return value;
  }
  return kNull;
}

std::optional<bool> JsonValue::as_bool() const {
  if (kind_ != Kind::kBool) return std::nullopt;
  return bool_;
}

std::optional<double> JsonValue::as_number() const {
  if (kind_ != Kind::kNumber) return std::nullopt;
  double d = 0;
  const auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), d);
  if (ec != std::errc()) return std::nullopt;  // out of range for a double
  return d;
}

std::optional<std::string_view> JsonValue::as_text() const {
  if (kind_ != Kind::kString && kind_ != Kind::kNumber) return std::nullopt;
  return std::string_view(text_);
}

core::Result<JsonValue> parse_json(std::string_view text) {
  if (text.size() > kJsonMaxSize) {
    return core::make_error(core::Errc::kInvalidArgument,
                            "JSON: document larger than " + std::to_string(kJsonMaxSize) + " bytes");
  }
  return Parser(text).document();
}

}  // namespace hop::router
