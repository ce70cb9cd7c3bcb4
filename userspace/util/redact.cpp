#include "util/redact.h"

#include <regex>

namespace pm {
namespace {

#define PM_SECRET_WORDS \
  "(?:SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|API[_-]?KEY|PRIVATE[_-]?KEY|ACCESS[_-]?KEY|CREDENTIAL)"
// A value: quoted (up to its closing quote, which may be missing when the
// capture was cut) or a bare word ending at white space or a quote. Not at
// '&' or ',': Django's generated keys contain them, and hiding a URL's next
// query parameter too is the safe side.
#define PM_SECRET_VALUE R"(('[^']*'?|"[^"]*"?|[^\s'"]+))"

// NAME=value, NAME: value, "name": "value", with NAME containing a secret word.
const std::regex& assignment_re() {
  static const std::regex re(R"(([A-Za-z0-9_.-]*)" PM_SECRET_WORDS R"([A-Za-z0-9_.-]*)(['"]?\s*[=:]\s*))"
                                 PM_SECRET_VALUE,
                             std::regex::icase | std::regex::optimize);
  return re;
}

// --password VALUE (an option takes its value after white space too).
const std::regex& option_re() {
  static const std::regex re(R"((--?[A-Za-z0-9_.-]*)" PM_SECRET_WORDS R"([A-Za-z0-9_.-]*)(\s+))" PM_SECRET_VALUE,
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

// Replaces group 3 (the value) of every match by "***", keeping its quotes.
std::string replace_values(const std::string& s, const std::regex& re) {
  std::string out;
  std::size_t last = 0;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    std::string value = m[3].str();
    out.append(s, last, m.position(0) - last);
    out += m[1].str();
    out += m[2].str();
    char q = value.empty() ? '\0' : value.front();
    if (q == '\'' || q == '"')
      out += std::string(1, q) + std::string(kRedacted) + std::string(1, q);
    else
      out += kRedacted;
    last = m.position(0) + m.length(0);
  }
  out.append(s, last, std::string::npos);
  return out;
}

}  // namespace

std::vector<std::string> redact_argv(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  out.reserve(argv.size());
  bool hide_next = false;
  for (const auto& a : argv) {
    if (hide_next) {
      out.emplace_back(kRedacted);
      hide_next = false;
      continue;
    }
    auto eq = a.find('=');
    std::string_view name = std::string_view(a).substr(0, eq);
    while (!name.empty() && name.front() == '-') name.remove_prefix(1);
    bool secret = !name.empty() && secret_name(name);
    if (secret && eq != std::string::npos) {
      out.push_back(a.substr(0, eq + 1) + std::string(kRedacted));
    } else {
      hide_next = secret && a.size() > 1 && a[0] == '-';  // --password VALUE
      out.push_back(redact(a));
    }
  }
  return out;
}

bool secret_name(std::string_view name) {
  return std::regex_match(name.begin(), name.end(), name_re());
}

std::string redact(std::string_view text) {
  std::string s(text);
  if (may_hold_url_password(s)) s = std::regex_replace(s, url_re(), "$1***$3");
  if (!may_hold_secret(s)) return s;
  return replace_values(replace_values(s, assignment_re()), option_re());
}

}  // namespace pm
