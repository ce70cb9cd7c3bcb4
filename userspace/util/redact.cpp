#include "util/redact.h"

#include "util/strings.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
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

struct Learned {
  std::mutex mu;
  std::vector<std::string> values;  // longest first, so a value hides before its parts
};
Learned& learned() {
  static Learned l;
  return l;
}
std::atomic<bool> g_redaction{true};

std::string hide_learned(std::string s) {
  auto& l = learned();
  std::lock_guard<std::mutex> lock(l.mu);
  for (const auto& v : l.values) {
    for (auto pos = s.find(v); pos != std::string::npos; pos = s.find(v, pos + kRedacted.size()))
      s.replace(pos, v.size(), kRedacted);
  }
  return s;
}

}  // namespace

void learn_secret(std::string_view value) {
  if (value.size() < kMinLearnedSecret || value == kRedacted) return;
  auto& l = learned();
  std::lock_guard<std::mutex> lock(l.mu);
  if (std::find(l.values.begin(), l.values.end(), value) != l.values.end()) return;
  if (l.values.size() >= 256) return;  // a bound; the patterns still apply
  l.values.emplace_back(value);
  std::stable_sort(l.values.begin(), l.values.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

void forget_learned_secrets() {
  auto& l = learned();
  std::lock_guard<std::mutex> lock(l.mu);
  l.values.clear();
}

namespace {
// The password part of every URL in `text`.
void learn_url_passwords(std::string_view text) {
  if (!may_hold_url_password(text)) return;
  std::string s(text);
  for (auto it = std::sregex_iterator(s.begin(), s.end(), url_re()); it != std::sregex_iterator(); ++it)
    learn_secret((*it)[2].str());
}

void learn_assignment(std::string_view item) {
  auto eq = item.find('=');
  if (eq == std::string_view::npos) return learn_url_passwords(item);
  std::string_view name = item.substr(0, eq), value = item.substr(eq + 1);
  while (!name.empty() && name.front() == '-') name.remove_prefix(1);
  if (!name.empty() && secret_name(name)) learn_secret(value);
  learn_url_passwords(value);
}
}  // namespace

void learn_secrets_from_environ(std::string_view nul_separated) {
  for (const auto& item : split(nul_separated, '\0')) learn_assignment(item);
}

void learn_secrets_from_argv(const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    learn_assignment(argv[i]);
    std::string_view name = argv[i];
    if (name.size() < 2 || name.front() != '-' || name.find('=') != std::string_view::npos) continue;
    while (!name.empty() && name.front() == '-') name.remove_prefix(1);
    if (i + 1 < argv.size() && secret_name(name)) learn_secret(argv[i + 1]);  // --password VALUE
  }
}

void set_redaction(bool on) { g_redaction.store(on); }
bool redaction_enabled() { return g_redaction.load(); }

void redact_json(nlohmann::json& j) {
  if (!redaction_enabled()) return;
  if (j.is_object()) {
    auto it = j.find("argv");
    if (it != j.end() && it->is_array() &&
        std::all_of(it->begin(), it->end(), [](const nlohmann::json& a) { return a.is_string(); }))
      *it = redact_argv(it->get<std::vector<std::string>>());
  }
  if (j.is_string()) {
    j = redact(j.get_ref<const std::string&>());
  } else if (j.is_structured()) {
    for (auto& v : j) redact_json(v);
  }
}

std::vector<std::string> redact_argv(const std::vector<std::string>& argv) {
  if (!redaction_enabled()) return argv;
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
  if (!redaction_enabled()) return std::string(text);
  std::string s = hide_learned(std::string(text));
  if (may_hold_url_password(s)) s = std::regex_replace(s, url_re(), "$1***$3");
  if (!may_hold_secret(s)) return s;
  return replace_values(replace_values(s, assignment_re()), option_re());
}

}  // namespace pm
