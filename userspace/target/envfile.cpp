// Reading a systemd EnvironmentFile= exactly as systemd does, then checking each
// assignment against what its author evidently meant.
//
// The reader is our own state machine with the same states and transitions as
// systemd's parse_env_file_internal() in src/basic/env-file.c:
//   - between entries, whitespace (space, tab, CR, LF) is skipped; '#' or ';'
//     there starts a comment that runs to the next CR or LF; a comment ending in
//     a backslash no longer continues onto the next line (since v254);
//   - a name runs to the first '='; a CR or LF before any '=' drops the line
//     without a message; trailing whitespace is cut from the name, inner
//     whitespace is kept ("export KEY" stays one name);
//   - after '=', whitespace is skipped; a value that starts with ' or " is
//     quoted; after a closing quote the reader is back "before a value", so
//     more quoted or bare text is appended (with the whitespace in between
//     skipped);
//   - a bare value runs to the next CR or LF, trailing whitespace cut; quotes
//     in it are ordinary characters; a backslash takes the next character
//     literally, and a backslash before CR or LF joins the next line;
//   - inside '...' nothing is special, line breaks included;
//   - inside "..." a backslash drops itself before " \ ` $, vanishes with a
//     following LF (only LF), and is kept before anything else; line breaks
//     are part of the value;
//   - a quote left open at the end of the file still produces the assignment.
// Each assignment is then checked for valid UTF-8 (name and value) by
// check_utf8ness_and_warn(); one failure fails the whole file. The file is
// read with read_full_stream(), which refuses a file with a NUL byte and does
// not strip a UTF-8 byte order mark. The service manager then drops every
// assignment whose name fails env_name_is_valid() (src/basic/env-util.c:
// letters, digits and '_', not starting with a digit) and logs it, value
// included, as "Ignoring invalid environment assignment"; a later assignment
// of the same name replaces the earlier one (strv_env_replace_consume()).
#include "target/envfile.h"

#include <glob.h>

#include <cerrno>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "target/unit_file.h"
#include "util/strings.h"

namespace pm::target {
namespace {

constexpr std::size_t npos = std::string_view::npos;
constexpr std::string_view kBom = "\xEF\xBB\xBF";

// systemd's character classes (string-util.h: WHITESPACE, NEWLINE, COMMENTS;
// escape.h: SHELL_NEED_ESCAPE).
bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_nl(char c) { return c == '\n' || c == '\r'; }
bool is_comment(char c) { return c == '#' || c == ';'; }
bool need_escape(char c) { return c == '"' || c == '\\' || c == '`' || c == '$'; }
bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

bool valid_name(std::string_view s) {
  if (s.empty() || is_digit(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

// systemd's utf8_is_valid(): lead bytes up to the old 6-byte forms, no
// overlong forms, no surrogates, no U+FDD0..U+FDEF, no U+xFFFE/U+xFFFF.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<std::uint8_t>(s[i]);
    std::size_t len = b < 0x80 ? 1
                      : (b & 0xe0) == 0xc0 ? 2
                      : (b & 0xf0) == 0xe0 ? 3
                      : (b & 0xf8) == 0xf0 ? 4
                      : (b & 0xfc) == 0xf8 ? 5
                      : (b & 0xfe) == 0xfc ? 6
                                           : 0;
    if (len == 0 || len > s.size() - i) return false;
    if (len == 1) {
      ++i;
      continue;
    }
    std::uint32_t cp = b & (0xff >> (len + 1));
    for (std::size_t k = 1; k < len; ++k) {
      auto cb = static_cast<std::uint8_t>(s[i + k]);
      if ((cb & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cb & 0x3f);
    }
    std::size_t need = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : cp < 0x200000 ? 4 : cp < 0x4000000 ? 5 : 6;
    if (need != len) return false;
    if (cp >= 0x110000 || (cp & 0xFFFFF800) == 0xD800 || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE)
      return false;
    i += len;
  }
  return true;
}

std::string_view rtrim(std::string_view s) {
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view ltrim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  return s;
}

// Printable form of a name for a message (a byte order mark or a control
// character shows as \xNN).
std::string printable(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto b = static_cast<std::uint8_t>(c);
    if (b < 0x20 || b >= 0x7f) {
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

// A value written so that systemd and a shell both read it literally.
std::string double_quoted(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (need_escape(c)) out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string literal_quoted(std::string_view v) {
  if (v.find('\'') == npos && v.find('\n') == npos) return "'" + std::string(v) + "'";
  return double_quoted(v);
}

// `NAME=` at the start of a line (optionally after `export`), with something
// other than '=' after it -- base64 padding ("...==") does not count.
bool looks_like_assignment(std::string_view l, std::string* name = nullptr) {
  l = ltrim(l);
  if (l.substr(0, 6) == "export" && l.size() > 6 && is_blank(l[6])) l = ltrim(l.substr(6));
  std::size_t n = 0;
  while (n < l.size() && (is_alnum(l[n]) || l[n] == '_')) ++n;
  if (n == 0 || is_digit(l[0])) return false;
  std::string_view rest = ltrim(l.substr(n));
  if (rest.empty() || rest[0] != '=') return false;
  if (rest.size() < 2 || rest[1] == '=' || rest[1] == '\r') return false;
  if (name) *name = std::string(l.substr(0, n));
  return true;
}

// ---------------------------------------------------------------------------
// The reader.

struct QuoteSpan {
  char quote = 0;
  std::size_t open = 0, close = npos;  // offsets of the quotes; close == npos: never closed
  int open_line = 0, close_line = 0;
};

struct Continuation {
  std::size_t backslash = 0;  // offset of the backslash
  int line = 0;               // the line it ends
  bool broken = false;        // CRLF: the backslash only swallowed the CR
  bool in_double_quote = false;
};

// One entry as systemd's reader produced it, with what happened on the way.
struct Entry {
  int line = 0, end_line = 0;
  std::size_t key_pos = 0, eq_pos = npos, end_pos = 0;
  std::string key, value;
  bool has_value = false;  // reached '=' (otherwise systemd drops the line silently)
  std::vector<QuoteSpan> quotes;
  std::vector<std::size_t> bare_quotes;  // ' or " inside a bare value
  std::vector<std::size_t> escapes;      // backslashes in a bare value that escaped a character
  std::vector<std::size_t> dollars;      // unescaped '$' in a bare or double-quoted value
  std::vector<Continuation> continuations;
  std::size_t inline_hash = npos;     // '#' after whitespace inside a bare value
  std::size_t after_quote = npos;     // first character after a closing quote (bare text or a new quote)
  bool after_quote_gap = false;       // ... with whitespace skipped in between
  std::size_t eq_first = npos;        // the value starts with a bare '='
  bool cr_in_quote = false;
};

struct Scan {
  std::vector<Entry> entries;
  std::vector<int> comment_backslash_lines;  // comments that end in a backslash
};

enum class St { PreKey, Key, PreValue, Value, ValueEscape, SQuote, DQuote, DQuoteEscape, Comment, CommentEscape };

Scan scan(std::string_view t) {
  Scan out;
  St st = St::PreKey;
  int line = 1;
  Entry cur;
  std::size_t key_ws = npos, val_ws = npos;  // where trailing whitespace of the name / bare value starts
  bool after_close = false, gap = false;

  auto push = [&](std::size_t end, bool chomp) {
    if (chomp && val_ws != npos) cur.value.resize(val_ws);
    if (key_ws != npos) cur.key.resize(key_ws);
    cur.has_value = true;
    cur.end_line = line;
    cur.end_pos = end;
    out.entries.push_back(std::move(cur));
    cur = Entry{};
  };
  auto note_after_quote = [&](std::size_t i) {
    if (after_close && cur.after_quote == npos) {
      cur.after_quote = i;
      cur.after_quote_gap = gap;
    }
  };
  auto open_quote = [&](char q, std::size_t i) {
    note_after_quote(i);
    cur.quotes.push_back(QuoteSpan{q, i, npos, line, 0});
  };
  auto close_quote = [&](std::size_t i) {
    cur.quotes.back().close = i;
    cur.quotes.back().close_line = line;
    after_close = true;
    gap = false;
  };

  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    switch (st) {
      case St::PreKey:
        if (is_comment(c)) {
          st = St::Comment;
        } else if (!is_ws(c)) {
          st = St::Key;
          cur = Entry{};
          cur.line = line;
          cur.key_pos = i;
          cur.key.push_back(c);
          key_ws = npos;
          after_close = gap = false;
        }
        break;

      case St::Key:
        if (is_nl(c)) {
          cur.end_line = line;
          cur.end_pos = i;
          out.entries.push_back(std::move(cur));
          cur = Entry{};
          st = St::PreKey;
        } else if (c == '=') {
          cur.eq_pos = i;
          val_ws = npos;
          st = St::PreValue;
        } else {
          if (!is_ws(c))
            key_ws = npos;
          else if (key_ws == npos)
            key_ws = cur.key.size();
          cur.key.push_back(c);
        }
        break;

      case St::PreValue:
        if (is_nl(c)) {
          push(i, false);
          st = St::PreKey;
        } else if (c == '\'') {
          open_quote(c, i);
          st = St::SQuote;
        } else if (c == '"') {
          open_quote(c, i);
          st = St::DQuote;
        } else if (c == '\\') {
          note_after_quote(i);
          st = St::ValueEscape;
        } else if (!is_ws(c)) {
          note_after_quote(i);
          if (c == '=' && cur.value.empty() && cur.quotes.empty()) cur.eq_first = i;
          // `KEY= # note`: the author meant an empty value and a comment.
          if (c == '#' && cur.value.empty() && cur.quotes.empty() && is_blank(t[i - 1])) cur.inline_hash = i;
          if (c == '$') cur.dollars.push_back(i);
          cur.value.push_back(c);
          st = St::Value;
        } else if (after_close) {
          gap = true;
        }
        break;

      case St::Value:
        if (is_nl(c)) {
          push(i, true);
          st = St::PreKey;
        } else if (c == '\\') {
          val_ws = npos;
          st = St::ValueEscape;
        } else {
          if (!is_ws(c))
            val_ws = npos;
          else if (val_ws == npos)
            val_ws = cur.value.size();
          if (c == '"' || c == '\'') cur.bare_quotes.push_back(i);
          if (c == '$') cur.dollars.push_back(i);
          if (c == '#' && is_blank(t[i - 1]) && cur.inline_hash == npos) cur.inline_hash = i;
          cur.value.push_back(c);
        }
        break;

      case St::ValueEscape:
        st = St::Value;
        if (!is_nl(c)) {
          cur.escapes.push_back(i - 1);
          cur.value.push_back(c);
        } else {
          bool broken = c == '\r' && i + 1 < t.size() && t[i + 1] == '\n';
          cur.continuations.push_back(Continuation{i - 1, line, broken, false});
        }
        break;

      case St::SQuote:
        if (c == '\'') {
          close_quote(i);
          st = St::PreValue;
        } else {
          if (c == '\r') cur.cr_in_quote = true;
          cur.value.push_back(c);
        }
        break;

      case St::DQuote:
        if (c == '"') {
          close_quote(i);
          st = St::PreValue;
        } else if (c == '\\') {
          st = St::DQuoteEscape;
        } else {
          if (c == '\r') cur.cr_in_quote = true;
          if (c == '$') cur.dollars.push_back(i);
          cur.value.push_back(c);
        }
        break;

      case St::DQuoteEscape:
        st = St::DQuote;
        if (need_escape(c)) {
          cur.value.push_back(c);
        } else if (c != '\n') {
          if (c == '\r' && i + 1 < t.size() && t[i + 1] == '\n')
            cur.continuations.push_back(Continuation{i - 1, line, true, true});
          cur.value.push_back('\\');
          cur.value.push_back(c);
        } else {
          cur.continuations.push_back(Continuation{i - 1, line, false, true});
        }
        break;

      case St::Comment:
        if (c == '\\')
          st = St::CommentEscape;
        else if (is_nl(c))
          st = St::PreKey;
        break;

      case St::CommentEscape:
        if (is_nl(c)) {
          out.comment_backslash_lines.push_back(line);
          st = St::PreKey;
        } else {
          st = St::Comment;
        }
        break;
    }
    if (c == '\n') ++line;
  }

  switch (st) {
    case St::Key:
      cur.end_line = line;
      cur.end_pos = t.size();
      out.entries.push_back(std::move(cur));
      break;
    case St::PreValue:
    case St::ValueEscape:
    case St::SQuote:
    case St::DQuote:
    case St::DQuoteEscape:
      push(t.size(), false);
      break;
    case St::Value:
      push(t.size(), true);
      break;
    default:
      break;
  }
  return out;
}

// ---------------------------------------------------------------------------
// The checks.

class Checker {
 public:
  explicit Checker(std::string_view text) : t_(text) {
    std::size_t start = 0;
    while (true) {
      std::size_t nl = t_.find('\n', start);
      line_start_.push_back(start);
      if (nl == npos) break;
      start = nl + 1;
    }
  }

  EnvFile run() {
    Scan s = scan(t_);
    EnvFile out;
    build_vars(s, out);
    for (std::size_t i = 0; i < s.entries.size(); ++i) check_entry(s, i);
    check_duplicates(s);
    check_comments(s);
    std::stable_sort(issues_.begin(), issues_.end(), [](const auto& a, const auto& b) { return a.line < b.line; });
    out.issues = std::move(issues_);
    return out;
  }

 private:
  std::string_view t_;
  std::vector<std::size_t> line_start_;
  std::vector<EnvFileIssue> issues_;

  // Line `n` (1-based) without its LF and without the CR of a CRLF.
  std::string_view line_text(int n) const {
    if (n < 1 || static_cast<std::size_t>(n) > line_start_.size()) return {};
    std::size_t b = line_start_[n - 1];
    std::size_t e = static_cast<std::size_t>(n) < line_start_.size() ? line_start_[n] - 1 : t_.size();
    std::string_view l = t_.substr(b, e - b);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    return l;
  }
  int line_count() const { return static_cast<int>(line_start_.size()); }
  int line_of(std::size_t pos) const {
    auto it = std::upper_bound(line_start_.begin(), line_start_.end(), pos);
    return static_cast<int>(it - line_start_.begin());
  }
  // Offset of `pos` inside its line's text, or npos when it is on another line.
  std::size_t col_on(int line, std::size_t pos) const {
    if (line_of(pos) != line) return npos;
    return pos - line_start_[line - 1];
  }

  void add(int line, std::string key, std::string problem, std::string corrected = {}) {
    issues_.push_back(EnvFileIssue{line, std::string(line_text(line)), std::move(key), std::move(problem),
                                   std::move(corrected)});
  }

  // What systemd ends up setting: assignments in order, checked for UTF-8 (a
  // failure fails the file), later ones replacing earlier ones in place, then
  // invalid names dropped.
  void build_vars(const Scan& s, EnvFile& out) {
    bool refused = false;
    std::size_t nul = t_.find('\0');
    if (nul != npos) {
      refused = true;
      add(line_of(nul), {},
          "systemd refuses the whole file: it contains a NUL byte (the service fails to start; with "
          "EnvironmentFile=- the file is skipped)");
    }
    std::vector<const Entry*> order;
    std::map<std::string, std::size_t> index;
    for (const Entry& e : s.entries) {
      if (!e.has_value) continue;
      if (!valid_utf8(e.key) || !valid_utf8(e.value)) {
        if (!refused) {
          bool key_bad = !valid_utf8(e.key);
          add(e.line, key_bad ? std::string() : e.key,
              std::string("systemd refuses the whole file: ") +
                  (key_bad ? "the name on this line" : "the value of " + e.key) +
                  " is not valid UTF-8 (the service fails to start; with EnvironmentFile=- the file is skipped)");
        }
        refused = true;
        break;
      }
      auto [it, fresh] = index.emplace(e.key, order.size());
      if (fresh)
        order.push_back(&e);
      else
        order[it->second] = &e;
    }
    if (refused) return;
    for (const Entry* e : order)
      if (valid_name(e->key)) out.vars.push_back(EnvVar{e->key, e->value, e->line});
  }

  // The name the author meant for an invalid one, and the line rewritten with
  // it (empty when the name cannot be repaired).
  struct Repair {
    std::string name, corrected;
    bool bom = false, exported = false, quoted = false;
  };
  Repair repair(const Entry& e) const {
    Repair r;
    std::string_view k = e.key;
    if (e.line == 1 && k.substr(0, kBom.size()) == kBom) {
      r.bom = true;
      k.remove_prefix(kBom.size());
    }
    if (k.size() > 6 && k.substr(0, 6) == "export" && is_blank(k[6])) {
      r.exported = true;
      k = ltrim(k.substr(6));
    }
    if (k.size() >= 2 && (k.front() == '"' || k.front() == '\'') && k.back() == k.front()) {
      r.quoted = true;
      k = k.substr(1, k.size() - 2);
    }
    r.name = std::string(k);
    std::size_t eq = e.eq_pos == npos ? npos : col_on(e.line, e.eq_pos);
    if (valid_name(k) && eq != npos && (r.bom || r.exported || r.quoted))
      r.corrected = std::string(k) + std::string(line_text(e.line).substr(eq));
    return r;
  }

  void check_entry(const Scan& s, std::size_t idx) {
    const Entry& e = s.entries[idx];
    if (!e.has_value) {
      check_no_equals(s, idx);
      return;
    }
    bool name_ok = valid_name(e.key);
    std::string meant = e.key;
    if (!name_ok) {
      Repair r = repair(e);
      meant = r.name;
      std::string why = r.bom        ? " (the file starts with a UTF-8 byte order mark, which systemd does not strip)"
                        : r.exported ? " (an EnvironmentFile= is not a shell script: drop 'export')"
                        : r.quoted   ? " (quotes around a name are not removed)"
                                     : " (names may only contain letters, digits and '_', and must not start with "
                                       "a digit)";
      add(e.line, r.name,
          "systemd ignores this line: '" + printable(e.key) + "' is not a valid variable name" + why +
              "; it logs the whole assignment, value included, as 'Ignoring invalid environment assignment'",
          r.corrected);
    }
    if (check_unterminated(e, meant)) return;
    if (!name_ok) return;
    check_value(e);
  }

  void check_no_equals(const Scan& s, std::size_t idx) {
    const Entry& e = s.entries[idx];
    std::string_view body = ltrim(line_text(e.line));
    if (e.line == 1 && body.substr(0, kBom.size()) == kBom) {
      // A byte order mark before a comment or an empty line changes nothing.
      std::string_view rest = ltrim(body.substr(kBom.size()));
      if (rest.empty() || is_comment(rest[0])) return;
      body = rest;
    }
    // The line after a continuation that CRLF broke is reported with it.
    if (idx > 0) {
      const Entry& prev = s.entries[idx - 1];
      for (const Continuation& c : prev.continuations)
        if (c.broken && !c.in_double_quote && c.line + 1 == e.line) return;
    }
    std::size_t n = 0;
    while (n < body.size() && (is_alnum(body[n]) || body[n] == '_')) ++n;
    std::string name(body.substr(0, n));
    if (!valid_name(name)) name.clear();
    std::string_view after = ltrim(body.substr(n));
    if (!name.empty() && !after.empty() && after[0] == ':') {
      std::string_view v = rtrim(ltrim(after.substr(1)));
      add(e.line, name,
          "systemd ignores this line without a message: it has no '=' (a ':' does not separate name and value), so " +
              name + " is not set",
          name + "=" + std::string(v));
    } else if (!name.empty() && after.empty()) {
      add(e.line, name,
          "systemd ignores this line without a message: it has no '=', so " + name +
              " is not set (write '" + name + "=' for an empty value)");
    } else {
      add(e.line, {}, "systemd ignores this line without a message: it has no '='");
    }
  }

  // A quote that does not close on its own line: systemd keeps reading, line
  // breaks included, up to the next matching quote anywhere in the file, or to
  // the end of the file. A multi-line quoted value is legitimate, so this only
  // counts when the file ends inside the quote, or when the swallowed lines
  // hold assignments.
  bool check_unterminated(const Entry& e, const std::string& meant) {
    const QuoteSpan* q = nullptr;
    for (const QuoteSpan& s : e.quotes)
      if (s.close == npos || s.close_line != s.open_line) {
        q = &s;
        break;
      }
    if (!q) return false;
    const char* kind = q->quote == '"' ? "double" : "single";
    int last = q->close == npos ? line_count() : q->close_line;
    std::vector<std::string> lost;
    for (int l = q->open_line + 1; l <= last; ++l) {
      std::string name;
      if (looks_like_assignment(line_text(l), &name)) lost.push_back(name);
    }
    if (q->close != npos && lost.empty()) return false;

    std::string where;
    if (q->close == npos)
      where = "everything up to the end of the file";
    else
      where = "lines " + std::to_string(q->open_line) + "-" + std::to_string(last) + ", up to the next " +
              (q->quote == '"' ? "'\"'" : "\"'\"") + " on line " + std::to_string(last) + ",";
    std::string problem = std::string("unterminated ") + kind + " quote: systemd reads " + where + " into " + meant;
    if (!lost.empty()) {
      std::string names;
      for (const auto& n : lost) names += (names.empty() ? "" : ", ") + n;
      problem += "; the assignments to " + names + " on the lines it swallows are lost";
    }
    std::string corrected;
    if (col_on(e.line, q->open) != npos) corrected = std::string(rtrim(line_text(e.line))) + q->quote;
    if (!valid_name(meant)) corrected.clear();
    add(q->open_line, meant, problem, corrected);
    return true;
  }

  // The value's raw text on the entry's first line, from after '=' (leading
  // blanks skipped) up to `end` (an offset in the file) or the end of the line.
  std::string_view raw_value(const Entry& e, std::size_t end = npos) const {
    std::string_view l = line_text(e.line);
    std::size_t eq = col_on(e.line, e.eq_pos);
    std::size_t stop = end == npos ? l.size() : std::min(l.size(), col_on(e.line, end));
    if (eq == npos || stop == npos || stop <= eq) return {};
    return rtrim(ltrim(l.substr(eq + 1, stop - eq - 1)));
  }

  void check_value(const Entry& e) {
    const std::string& key = e.key;
    bool one_line = e.end_line == e.line;
    std::string_view line = line_text(e.line);

    // Where a comment the author meant starts; later characters are comment.
    std::size_t comment = e.inline_hash;
    bool comment_after_quote = false;
    if (e.after_quote != npos && e.after_quote_gap && t_[e.after_quote] == '#' &&
        (comment == npos || e.after_quote < comment)) {
      comment = e.after_quote;
      comment_after_quote = true;
    }
    auto before_comment = [&](std::size_t pos) { return comment == npos || pos < comment; };

    if (e.eq_first != npos) {
      std::size_t c = col_on(e.line, e.eq_first);
      std::string corrected;
      if (c != npos) corrected = std::string(line.substr(0, c)) + std::string(line.substr(c + 1));
      add(e.line, key,
          "systemd sets " + key + " to a value that starts with '=' (only the first '=' separates name and value)",
          corrected);
    }

    if (comment != npos) {
      std::size_t c = col_on(e.line, comment);
      std::string corrected;
      if (c != npos) corrected = std::string(rtrim(line.substr(0, c)));
      add(e.line, key,
          comment_after_quote
              ? "systemd appends the '#' comment after the closing quote to the value of " + key +
                    " (without the space before it): comments are only recognised at the start of a line"
              : "systemd keeps the '#' comment in the value of " + key +
                    ": comments are only recognised at the start of a line",
          corrected);
    }

    if (e.after_quote != npos && e.after_quote_gap && t_[e.after_quote] != '#' && before_comment(e.after_quote)) {
      add(e.line, key,
          "systemd appends the text after the closing quote to the value of " + key +
              " and drops the whitespace in between: put the whole value inside the quotes");
    }

    check_bare_quotes(e, before_comment, one_line);

    // Backslashes dropped from a bare value. Escaping a character that is
    // special to a shell (a space, a quote, '$', '#', '\' ...) is evidently
    // meant; escaping a letter or digit is a literal backslash lost.
    bool lost_backslash = false;
    for (std::size_t p : e.escapes) {
      char c = t_[p + 1];
      if (before_comment(p) && (is_alnum(c) || std::string_view("-_./:@%+,=^~").find(c) != npos)) lost_backslash = true;
    }
    if (lost_backslash) {
      std::string corrected;
      if (one_line && e.continuations.empty()) corrected = key + "=" + literal_quoted(raw_value(e, comment));
      add(e.line, key,
          "systemd drops backslashes from the unquoted value of " + key +
              " (outside quotes a backslash only makes the next character literal)",
          corrected);
    }

    for (const Continuation& c : e.continuations) {
      if (c.broken) {
        add(c.line, key,
            c.in_double_quote
                ? "the line ends in '\\' to continue the quoted value of " + key +
                      ", but has Windows (CRLF) line endings: systemd keeps the backslash, the carriage return and "
                      "the line break in the value"
                : "the line ends in '\\' to continue " + key +
                      " on the next line, but has Windows (CRLF) line endings: systemd ends the value at the line "
                      "break and reads line " +
                      std::to_string(c.line + 1) + " on its own");
        continue;
      }
      std::string name;
      if (!c.in_double_quote && looks_like_assignment(line_text(c.line + 1), &name)) {
        std::string corrected;
        if (c.line == e.line) corrected = key + "=" + literal_quoted(raw_value(e));
        add(c.line, key,
            "the trailing '\\' joins line " + std::to_string(c.line + 1) + " into the value of " + key +
                ", so the assignment to " + name + " on that line is lost",
            corrected);
      }
    }

    bool dq_broken = std::any_of(e.continuations.begin(), e.continuations.end(),
                                 [](const Continuation& c) { return c.broken && c.in_double_quote; });
    if (e.cr_in_quote && !dq_broken)
      add(e.line, key,
          "the quoted value of " + key +
              " spans lines with Windows (CRLF) line endings: systemd keeps the carriage returns in the value");

    std::vector<std::string> refs;
    std::set<std::string> seen;  // not a search of refs: a value may hold very many
    for (std::size_t p : e.dollars) {
      if (!before_comment(p)) continue;
      std::string ref = variable_reference(p);
      if (!ref.empty() && seen.insert(ref).second) refs.push_back(ref);
    }
    if (!refs.empty()) {
      std::string list;
      for (const auto& r : refs) list += (list.empty() ? "'" : ", '") + r + "'";
      add(e.line, key,
          "systemd does not expand variables in an EnvironmentFile=: " + key + " gets " + list + " literally");
    }
  }

  // Quotes in the middle of a bare value are ordinary characters to systemd.
  // Balanced ones are left alone (JSON, `--opt="x"`), and so is an apostrophe
  // between letters ("it's"); a lone '"' or stray "'" is reported.
  template <class Before>
  void check_bare_quotes(const Entry& e, Before before_comment, bool one_line) {
    int dq = 0, sq = 0;
    bool sq_stray = false;
    for (std::size_t p : e.bare_quotes) {
      if (!before_comment(p)) continue;
      if (t_[p] == '"') {
        ++dq;
      } else {
        ++sq;
        bool between = p > 0 && p + 1 < t_.size() && is_alnum(t_[p - 1]) && is_alnum(t_[p + 1]);
        if (!between) sq_stray = true;
      }
    }
    bool flag_dq = dq % 2 == 1, flag_sq = sq % 2 == 1 && sq_stray;
    if (!flag_dq && !flag_sq) return;
    const std::string& key = e.key;
    std::string corrected;
    if (one_line && e.continuations.empty()) {
      std::string_view v = e.value;
      if (flag_dq && !flag_sq && dq == 1 && e.quotes.empty() && !v.empty() && v.back() == '"') {
        // `KEY=abc"`: the opening quote was forgotten.
        corrected = key + "=" + double_quoted(v.substr(0, v.size() - 1));
      } else {
        corrected = key + "=" + literal_quoted(v);
      }
    }
    add(e.line, key,
        std::string("systemd keeps the ") + (flag_dq ? "'\"'" : "\"'\"") + " in the value of " + key +
            " as an ordinary character: quotes only count at the start of a value (a shell would read it as the "
            "start of a quoted string)",
        corrected);
  }

  // `${NAME}` or `$NAME` (NAME in capitals, two characters or more) at `p`.
  std::string variable_reference(std::size_t p) const {
    std::string_view r = t_.substr(p + 1);
    if (!r.empty() && r[0] == '{') {
      // The name runs to the first '}'; only name characters may come before
      // it (looking further for the '}' made "${${${..." quadratic).
      std::size_t close = 1;
      while (close < r.size() && (is_alnum(r[close]) || r[close] == '_')) ++close;
      if (close >= r.size() || r[close] != '}' || close < 2) return {};
      std::string_view name = r.substr(1, close - 1);
      if (!valid_name(name)) return {};
      return "${" + std::string(name) + "}";
    }
    std::size_t n = 0;
    while (n < r.size() && ((r[n] >= 'A' && r[n] <= 'Z') || is_digit(r[n]) || r[n] == '_')) ++n;
    if (n < 2 || is_digit(r[0])) return {};
    if (n < r.size() && r[n] >= 'a' && r[n] <= 'z') return {};
    return "$" + std::string(r.substr(0, n));
  }

  void check_duplicates(const Scan& s) {
    std::map<std::string, int> last;
    for (const Entry& e : s.entries)
      if (e.has_value && valid_name(e.key)) last[e.key] = e.line;
    for (const Entry& e : s.entries) {
      if (!e.has_value || !valid_name(e.key)) continue;
      int l = last[e.key];
      if (l != e.line)
        add(e.line, e.key,
            e.key + " is assigned again on line " + std::to_string(l) + "; systemd keeps only the last assignment");
    }
  }

  // Before v254 a comment ending in '\' swallowed the next line too.
  void check_comments(const Scan& s) {
    for (int l : s.comment_backslash_lines) {
      // Entries are in line order: start at the first on line l + 1 (a search
      // from the start for every comment was quadratic).
      auto it = std::lower_bound(s.entries.begin(), s.entries.end(), l + 1,
                                 [](const Entry& e, int line) { return e.line < line; });
      while (it != s.entries.end() && it->line == l + 1 && !it->has_value) ++it;
      if (it == s.entries.end() || it->line != l + 1) continue;
      std::string_view c = rtrim(line_text(l));
      c.remove_suffix(1);
      add(l, it->key,
          "this comment ends in '\\': systemd before v254 also treats line " + std::to_string(l + 1) + " (" +
              printable(it->key) + ") as part of the comment; newer systemd reads it",
          std::string(rtrim(c)));
    }
  }
};

}  // namespace

EnvFile parse_env_file(std::string_view text) { return Checker(text).run(); }

std::vector<EnvFileRead> read_environment_files(const UnitFile& unit, const std::string& user,
                                                const EnvFileSource& from) {
  std::vector<EnvFileRead> out;
  for (const auto* s : unit.list("Service", "EnvironmentFile")) {
    std::string value = s->value;
    bool optional = starts_with(value, "-");
    if (optional) value.erase(0, 1);
    auto expanded = expand_specifiers(value, unit.name, user);
    std::string path = expanded ? *expanded : value;
    std::vector<std::string> paths;
    if (path.find_first_of("*?[") != std::string::npos) {
      paths = from.glob(path);
      // systemd globs every value: one that matches nothing fails the start
      // (glob_extend's -ENOENT) unless it is optional, like a missing file.
      if (paths.empty()) paths.push_back(path);
    } else {
      paths.push_back(path);
    }
    for (auto& p : paths) {
      EnvFileRead r;
      r.setting = s;
      r.path = std::move(p);
      r.optional = optional;
      errno = 0;
      if (auto text = from.read(r.path)) {
        r.readable = true;
        r.parsed = parse_env_file(*text);
      } else {
        r.err = errno ? errno : EIO;
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::vector<EnvFileRead> read_environment_files(const UnitFile& unit, const std::string& user,
                                                const std::string& root) {
  EnvFileSource from;
  from.read = [&root](const std::string& path) { return read_file(root + path); };
  from.glob = [&root](const std::string& pattern) {
    std::vector<std::string> paths;
    glob_t g{};
    if (::glob((root + pattern).c_str(), 0, nullptr, &g) == 0)
      for (std::size_t i = 0; i < g.gl_pathc; ++i) paths.push_back(std::string(g.gl_pathv[i]).substr(root.size()));
    ::globfree(&g);
    return paths;
  };
  return read_environment_files(unit, user, from);
}

}  // namespace pm::target
