#include "netdb_format.h"

#include <cstdio>
#include <ctime>

namespace hop::router {

std::string format_utc(core::WallTime t) {
  if (t == core::WallTime{}) return "never";
  const std::time_t secs = core::WallClock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  if (::gmtime_r(&secs, &tm) == nullptr) return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string format_duration(core::Duration d) {
  long long s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 0) s = -s;
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s % 3600 / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
  }
  return buf;
}

std::string format_age(core::WallTime then, core::WallTime now) {
  if (then == core::WallTime{}) return "never";
  if (then > now) return "in " + format_duration(then - now);
  return format_duration(now - then) + " ago";
}

std::string format_address(const netdb::RouterAddress& address) {
  const std::string port = std::to_string(address.port);
  if (address.host.find(':') != std::string::npos) return "[" + address.host + "]:" + port;
  return address.host + ":" + port;
}

std::string format_ban_state(const netdb::Ban& ban, core::WallTime now) {
  if (now < ban.end) return "in force, " + format_duration(ban.end - now) + " left";
  return "ended " + format_duration(now - ban.end) + " ago";
}

std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;  // UTF-8 passes through; JSON allows it unescaped
        }
    }
  }
  return out + "\"";
}

long long seconds_between(core::WallTime then, core::WallTime now) {
  return std::chrono::duration_cast<std::chrono::seconds>(now - then).count();
}

}  // namespace hop::router
