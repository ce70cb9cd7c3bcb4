#include "rules/traceback.h"

#include <array>
#include <map>
#include <string_view>

#include "util/strings.h"

namespace pm::rules {
namespace {

// Matched by hand, not with std::regex: libstdc++'s regex matcher recurses
// once per character, so a long line (a KeyError with a big repr, a long
// module path) overflowed the stack: 32 KB did in a -O2 build, 22 KB under ASan.

bool ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }

// [A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Exit|Interrupt|Warning|ImproperlyConfigured), or HaltServer.
bool error_name(std::string_view n) {
  if (n == "HaltServer") return true;
  if (n.empty() || !ident_start(n[0])) return false;
  for (char c : n)
    if (!ident_char(c) && c != '.') return false;
  static constexpr std::array<std::string_view, 6> kSuffixes = {"Error",   "Exception", "Exit",
                                                                 "Interrupt", "Warning", "ImproperlyConfigured"};
  for (auto s : kSuffixes)
    if (n.size() > s.size() && ends_with(n, s)) return true;
  return false;
}

// "Name" or "Name: message" (the message on one line: no CR or LF).
bool error_line(std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return error_name(line);
  if (colon + 1 >= line.size() || line[colon + 1] != ' ') return false;
  if (line.find_first_of("\r\n", colon) != std::string_view::npos) return false;
  return error_name(line.substr(0, colon));
}

}  // namespace

std::optional<std::string> python_error_line(const std::string& output) {
  auto lines = split(output, '\n');
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string_view line = trim(*it);
    // gunicorn's logger prefixes lines: "[2026-..] [12] [ERROR] ..."; a
    // traceback's error line stands alone.
    if (error_line(line)) return std::string(line);
  }
  return std::nullopt;
}

// "ModuleNotFoundError: No module named 'x.y'" or "ImportError: No module
// named x" (quote optional): the module of the last one, found left to right
// as a regex search would (the next search starts where a match ends).
std::optional<std::string> missing_module(const std::string& output) {
  static constexpr std::array<std::string_view, 2> kPrefixes = {"ModuleNotFoundError: No module named ",
                                                                "ImportError: No module named "};
  constexpr auto npos = std::string_view::npos;
  std::string_view out = output;
  std::optional<std::string> found;
  // Each prefix's next occurrence at or after pos.
  std::array<std::size_t, 2> next = {out.find(kPrefixes[0]), out.find(kPrefixes[1])};
  for (std::size_t pos = 0;;) {
    std::size_t at = npos, b = 0;
    for (std::size_t i = 0; i < kPrefixes.size(); ++i) {
      if (next[i] != npos && next[i] < pos) next[i] = out.find(kPrefixes[i], pos);
      if (next[i] < at) {
        at = next[i];
        b = at + kPrefixes[i].size();
      }
    }
    if (at == npos) break;
    if (b < out.size() && out[b] == '\'') ++b;
    if (b < out.size() && ident_start(out[b])) {
      std::size_t e = b;
      while (e < out.size() && (ident_char(out[e]) || out[e] == '.')) ++e;
      found = std::string(out.substr(b, e - b));
      pos = e;
    } else {
      pos = at + 1;
    }
  }
  if (!found) return std::nullopt;
  auto dot = found->find('.');
  return dot == std::string::npos ? *found : found->substr(0, dot);
}

std::string package_for_module(const std::string& module) {
  static const std::map<std::string, std::string> known = {
      {"rest_framework", "djangorestframework"}, {"psycopg2", "psycopg2-binary"},
      {"yaml", "PyYAML"},                        {"PIL", "Pillow"},
      {"dotenv", "python-dotenv"},               {"jwt", "PyJWT"},
      {"MySQLdb", "mysqlclient"},                {"sklearn", "scikit-learn"},
      {"cv2", "opencv-python"},                  {"bs4", "beautifulsoup4"},
      {"dateutil", "python-dateutil"},           {"magic", "python-magic"},
      {"corsheaders", "django-cors-headers"},    {"environ", "django-environ"},
      {"decouple", "python-decouple"},           {"debug_toolbar", "django-debug-toolbar"},
      {"crispy_forms", "django-crispy-forms"},   {"storages", "django-storages"},
      {"flask", "Flask"},                        {"django", "Django"},
      {"flask_sqlalchemy", "Flask-SQLAlchemy"},  {"flask_cors", "Flask-Cors"},
      {"google.protobuf", "protobuf"},           {"Crypto", "pycryptodome"},
      {"OpenSSL", "pyOpenSSL"},                  {"serial", "pyserial"},
      {"attr", "attrs"},                         {"whitenoise", "whitenoise"},
  };
  auto it = known.find(module);
  return it == known.end() ? module : it->second;
}

std::string pip_install_fix(const std::string& python, const std::string& module) {
  std::string package = package_for_module(module);
  return python + " -m pip install " + package + "  (import name '" + module + "' is package '" + package +
         "'; add it to the project's requirements)";
}

}  // namespace pm::rules
