#include "util/redact.h"

#include "util/strings.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>
#include <mutex>
#include <nlohmann/json.hpp>

namespace pm {
namespace {

// Hand-written scanners, linear in the text: std::regex (libstdc++) recurses
// once per character matched, so a long value overflowed the stack, and its
// backtracking made texts with a secret-looking word quadratic.

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool at_nocase(std::string_view s, std::size_t i, std::string_view word) {
  if (i + word.size() > s.size()) return false;
  for (std::size_t j = 0; j < word.size(); ++j)
    if (lower(s[i + j]) != word[j]) return false;
  return true;
}

// Where a secret word starts in `name` at or after `from` (npos: none). The
// words: secret, password, passwd, passphrase, token, credential, and
// api/private/access + key with an optional '_' or '-' between; and the
// segments pass, pwd, key (between '_', '-' or the ends of the name).
std::size_t find_secret_word(std::string_view name, std::size_t from = 0) {
  static const std::string_view plain[] = {"secret", "passwd", "password", "passphrase", "token", "credential"};
  static const std::string_view keyed[] = {"api", "private", "access"};
  // Whole segments of a name (DB_PASS, STRIPE_KEY, MYSQL_PWD): as substrings
  // they would hide BYPASS or KEYBOARD.
  static const std::string_view segments[] = {"pass", "pwd", "key"};
  auto boundary = [&](std::size_t k) { return k == 0 || k >= name.size() || name[k] == '_' || name[k] == '-'; };
  // The shell's working directories (PWD=/srv/app, OLDPWD=...) are no
  // passwords: hiding them hid every path under the directory pmtrace ran in.
  if ((name.size() == 3 && at_nocase(name, 0, "pwd")) || (name.size() == 6 && at_nocase(name, 0, "oldpwd")))
    return std::string_view::npos;
  for (std::size_t i = from; i < name.size(); ++i) {
    for (auto w : plain)
      if (at_nocase(name, i, w)) return i;
    if (i == 0 || name[i - 1] == '_' || name[i - 1] == '-')
      for (auto w : segments)
        if (at_nocase(name, i, w) && boundary(i + w.size())) return i;
    for (auto w : keyed) {
      if (!at_nocase(name, i, w)) continue;
      std::size_t k = i + w.size();
      if (k < name.size() && (name[k] == '_' || name[k] == '-')) ++k;
      if (at_nocase(name, k, "key")) return i;
    }
  }
  return std::string_view::npos;
}

// A value at s[i]: quoted (up to its closing quote, which may be missing when
// the capture was cut) or a bare word ending at white space or a quote. Not
// at '&' or ',': Django's generated keys contain them, and hiding a URL's
// next query parameter too is the safe side. Returns its end, or i when
// there is none.
std::size_t value_end(std::string_view s, std::size_t i) {
  if (i >= s.size()) return i;
  char q = s[i];
  if (q == '\'' || q == '"') {
    auto close = s.find(q, i + 1);
    return close == std::string_view::npos ? s.size() : close + 1;
  }
  std::size_t j = i;
  while (j < s.size() && !is_space(s[j]) && s[j] != '\'' && s[j] != '"') ++j;
  return j;
}

// "***", keeping the value's quotes.
void append_hidden(std::string& out, std::string_view value) {
  char q = value.empty() ? '\0' : value.front();
  if (q == '\'' || q == '"') out += std::string(1, q) + std::string(kRedacted) + std::string(1, q);
  else out += kRedacted;
}

enum class Form { assignment, option };

// systemd's settings whose value names a credential and where it is read
// from (LoadCredential=ID:PATH), never the secret itself (SetCredential=
// holds that, and stays hidden).
bool names_a_credential_source(std::string_view name) {
  return name == "LoadCredential" || name == "LoadCredentialEncrypted" || name == "ImportCredential";
}

// A bare "value" of punctuation only (the ',' of "LoadCredential=, SetCredential=",
// a closing parenthesis): prose listing a setting, no value.
bool punctuation_only(std::string_view v) {
  if (v.empty() || v.front() == '\'' || v.front() == '"') return false;
  for (char c : v)
    if (c != ',' && c != ';' && c != ')' && c != ']' && c != '}' && c != '.') return false;
  return true;
}

// Whether `v` begins with an error message of the C library's (strerror):
// "credentials: No such process", "Failed to set up credentials: Protocol
// error" are systemd reporting errno, not a password after a colon.
bool starts_with_errno_text(std::string_view v) {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> t;
    for (int e = 1; e < 134; ++e) {
      std::string m = strerror(e);
      if (!starts_with(m, "Unknown error")) t.push_back(m);
    }
    return t;
  }();
  for (const auto& t : texts)
    if (v.size() >= t.size() && v.substr(0, t.size()) == t &&
        (v.size() == t.size() || !is_name_char(v[t.size()])))
      return true;
  return false;
}

// One pass over `s`: every run of name characters holding a secret word and
// followed by its value has the value hidden.
//   assignment: NAME=value, NAME: value, "name": "value" (a quote, spaces,
//               '=' or ':', spaces, then the value)
//   option:     --name value, -name value (a '-' before the word, white
//               space, then the value)
std::string hide_values(std::string_view s, Form form) {
  std::string out;
  std::size_t i = 0, copied = 0;
  while (i < s.size()) {
    if (!is_name_char(s[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < s.size() && is_name_char(s[i])) ++i;
    std::string_view name = s.substr(start, i - start);
    std::size_t word = find_secret_word(name);
    if (word == std::string_view::npos) continue;
    if (names_a_credential_source(name)) {
      // Its value, ID:PATH, is kept whole ("db-password:/etc/..." is no
      // password after a colon).
      if (i < s.size() && s[i] == '=') i = value_end(s, i + 1);
      continue;
    }
    std::size_t j = i;
    if (form == Form::assignment) {
      if (j < s.size() && (s[j] == '\'' || s[j] == '"')) ++j;
      while (j < s.size() && is_space(s[j])) ++j;
      if (j >= s.size() || (s[j] != '=' && s[j] != ':')) continue;
      bool colon = s[j] == ':';
      ++j;
      while (j < s.size() && is_space(s[j])) ++j;
      if (colon && starts_with_errno_text(s.substr(j))) continue;
    } else {
      // An option: "-password", "--db-password" (a file named db-password
      // followed by a word is none).
      if (name.front() != '-' || (start > 0 && !is_space(s[start - 1]) && s[start - 1] != '\'' && s[start - 1] != '"'))
        continue;
      if (j < s.size() && (s[j] == '\'' || s[j] == '"')) ++j;  // a quoted argv: '--password' 'x'
      if (j >= s.size() || !is_space(s[j])) continue;
      while (j < s.size() && is_space(s[j])) ++j;
    }
    std::size_t end = value_end(s, j);
    if (end == j || punctuation_only(s.substr(j, end - j))) continue;  // no value
    out.append(s.substr(copied, j - copied));
    append_hidden(out, s.substr(j, end - j));
    copied = i = end;
  }
  if (copied == 0) return std::string(s);
  out.append(s.substr(copied));
  return out;
}

// scheme://user:PASSWORD@host: the password part of every URL (to the last
// '@' of the word), as spans
// (begin, end) of `s`.
std::vector<std::pair<std::size_t, std::size_t>> url_passwords(std::string_view s) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  std::size_t from = 0;
  for (auto sep = s.find("://"); sep != std::string_view::npos; sep = s.find("://", from)) {
    from = sep + 3;
    // A scheme: [A-Za-z][A-Za-z0-9+.-]* right before "://".
    std::size_t b = sep;
    bool letter = false;
    while (b > 0) {
      char c = s[b - 1];
      bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
      if (!(alpha || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-')) break;
      letter |= alpha;
      --b;
    }
    if (!letter) continue;
    std::size_t j = sep + 3;
    while (j < s.size() && !is_space(s[j]) && s[j] != '/' && s[j] != ':' && s[j] != '@') ++j;  // user
    if (j >= s.size() || s[j] != ':') continue;
    // The password runs to the last '@' of the word: one written with '@',
    // '/' or a quote unencoded ("p@ss/w0rd") is hidden whole; a port and path
    // before an '@' in a query are hidden too, the safe side.
    std::size_t p = ++j;
    std::size_t at = std::string_view::npos;
    while (j < s.size() && !is_space(s[j])) {
      if (s[j] == '@') at = j;
      ++j;
    }
    if (at == std::string_view::npos) {
      from = j;  // no '@' to the end of the word: no password in the rest of it either
      continue;
    }
    if (at == p) {
      from = at + 1;
      continue;
    }
    out.emplace_back(p, at);
    from = at + 1;
  }
  return out;
}

std::string hide_url_passwords(std::string_view s) {
  auto spans = url_passwords(s);
  if (spans.empty()) return std::string(s);
  std::string out;
  std::size_t copied = 0;
  for (auto [b, e] : spans) {
    out.append(s.substr(copied, b - copied));
    out += kRedacted;
    copied = e;
  }
  out.append(s.substr(copied));
  return out;
}

bool contains_nocase(std::string_view hay, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (at_nocase(hay, i, needle)) return true;
  return false;
}

// A linear scan for the words the passes need decides whether they run at all.
bool may_hold_secret(std::string_view t) {
  static const std::string_view words[] = {"secret", "pass", "pwd", "token", "key", "credential"};
  for (auto w : words)
    if (contains_nocase(t, w)) return true;
  return false;
}

bool may_hold_url_password(std::string_view t) {
  return t.find("://") != std::string_view::npos && t.find('@') != std::string_view::npos;
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
  for (auto [b, e] : url_passwords(text)) learn_secret(text.substr(b, e - b));
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

bool secret_name(std::string_view name) { return find_secret_word(name) != std::string_view::npos; }

std::string redact(std::string_view text) {
  if (!redaction_enabled()) return std::string(text);
  std::string s = hide_learned(std::string(text));
  if (may_hold_url_password(s)) s = hide_url_passwords(s);
  if (!may_hold_secret(s)) return s;
  return hide_values(hide_values(s, Form::assignment), Form::option);
}

}  // namespace pm
