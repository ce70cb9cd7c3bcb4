#include "util/redact.h"

#include <regex>

namespace pm {
namespace {

// NAME=value, NAME: value, --name=value, --name value, with NAME containing a
// secret word. The value ends at white space, a quote, '&' or ','.
const std::regex& assignment_re() {
  static const std::regex re(
      R"(((?:--?)?[A-Za-z0-9_.-]*(?:SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|API[_-]?KEY|PRIVATE[_-]?KEY|ACCESS[_-]?KEY|CREDENTIAL)[A-Za-z0-9_.-]*)((?:['"]?\s*[=:]\s*|\s+)['"]?))"
      R"(([^\s'"&,]+))",
      std::regex::icase | std::regex::optimize);
  return re;
}

// scheme://user:password@host
const std::regex& url_re() {
  static const std::regex re(R"(([A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)([^\s@/]+)(@))", std::regex::optimize);
  return re;
}

const std::regex& name_re() {
  static const std::regex re(
      R"(.*(SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|API[_-]?KEY|PRIVATE[_-]?KEY|ACCESS[_-]?KEY|CREDENTIAL).*)",
      std::regex::icase | std::regex::optimize);
  return re;
}

bool may_hold_secret(std::string_view t) {
  // Cheap pre-check so ordinary text skips the regexes.
  for (std::size_t i = 0; i + 1 < t.size(); ++i) {
    char c = t[i];
    if (c == '=' || c == ':' || c == '-' || c == ' ') return true;
  }
  return false;
}

}  // namespace

bool secret_name(std::string_view name) {
  return std::regex_match(name.begin(), name.end(), name_re());
}

std::string redact(std::string_view text) {
  if (!may_hold_secret(text)) return std::string(text);
  std::string s(text);
  s = std::regex_replace(s, url_re(), "$1***$3");
  std::string out;
  auto begin = std::sregex_iterator(s.begin(), s.end(), assignment_re());
  std::size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    std::string value = m[3].str();
    out.append(s, last, m.position(0) - last);
    out += m[1].str();
    out += m[2].str();
    out += value == kRedacted ? value : std::string(kRedacted);
    last = m.position(0) + m.length(0);
  }
  out.append(s, last, std::string::npos);
  return out;
}

}  // namespace pm
