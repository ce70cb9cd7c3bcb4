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

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool contains_nocase(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && lower(hay[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

// The regexes are slow (std::regex, case-insensitive): a linear scan for the
// words they need decides whether they run at all. Every word the assignment
// pattern requires contains one of these; a URL password needs "://" and '@'.
bool may_hold_secret(std::string_view t) {
  static const std::string_view words[] = {"secret", "passw", "passphrase", "token", "key", "credential"};
  for (auto w : words)
    if (contains_nocase(t, w)) return true;
  return false;
}

bool may_hold_url_password(std::string_view t) {
  return t.find("://") != std::string_view::npos && t.find('@') != std::string_view::npos;
}

}  // namespace

bool secret_name(std::string_view name) {
  return std::regex_match(name.begin(), name.end(), name_re());
}

std::string redact(std::string_view text) {
  std::string s(text);
  if (may_hold_url_password(s)) s = std::regex_replace(s, url_re(), "$1***$3");
  if (!may_hold_secret(s)) return s;
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
