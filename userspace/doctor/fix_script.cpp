// The fixes doctor proposes, as a shell script for a person to review.
#include <algorithm>
#include <cctype>
#include <set>

#include "doctor/checks.h"
#include "util/redact.h"
#include "util/strings.h"

namespace pm::doctor {
namespace {

// A comment line: redacted, on one line.
std::string comment(const std::string& s) { return escape_bytes(redact(s)); }

// A unit setting safe inside the drop-in's here-document: one printable line.
bool one_line(const std::string& s) {
  for (char ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return false;
  return s.find("PMTRACE_EOF") == std::string::npos;
}

const char* tag(Status s) { return s == Status::failure ? "[failure]" : "[warning]"; }

}  // namespace

std::string shell_word(const std::string& s) {
  bool plain = !s.empty();
  for (char ch : s)
    plain &= (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             std::string_view("_./:@%+=,-").find(ch) != std::string_view::npos;
  if (plain) return s;
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string edit_line_command(const std::string& file, int line, const std::string& text, const std::string& corrected) {
  // The change as "keep P bytes, replace K bytes by NEW": the bytes kept and
  // replaced are counted, not written, so a value on the line stays out of
  // the script unless it is part of NEW.
  std::size_t p = 0;
  while (p < text.size() && p < corrected.size() && text[p] == corrected[p]) ++p;
  std::size_t s = 0;
  while (s < text.size() - p && s < corrected.size() - p && text[text.size() - 1 - s] == corrected[corrected.size() - 1 - s]) ++s;
  std::size_t k = text.size() - p - s;
  std::string add = corrected.substr(p, corrected.size() - p - s);
  // On a line that holds a secret, NEW may bring no piece of the line into
  // the script (a value written raw, with backslashes or quotes, is not what
  // redaction learned): only new text, such as "?connect_timeout=10".
  bool secret_line = redact(text) != text || redact(corrected) != corrected;
  bool copies = false;
  for (std::size_t i = 0; i < add.size();) {
    std::size_t j = i;
    while (j < add.size() && std::isalnum(static_cast<unsigned char>(add[j]))) ++j;
    if (j - i >= 3 && text.find(add.substr(i, j - i)) != std::string::npos) copies = true;
    i = j == i ? i + 1 : j;
  }
  if ((secret_line && copies) || redact(add) != add || add.find('\n') != std::string::npos)
    return "# " + comment(file) + " line " + std::to_string(line) + " holds a secret: edit it by hand to: " + comment(corrected);
  std::string esc;
  for (char ch : add) {
    if (ch == '\\' || ch == '&' || ch == '/') esc += '\\';
    esc += ch;
  }
  // Counted from the nearer end, so that two edits of one line (drop
  // "export ", append "?connect_timeout=10") both apply in either order.
  std::string n = std::to_string(line), kk = std::to_string(k);
  std::string script = p <= s ? n + "s/^\\(.\\{" + std::to_string(p) + "\\}\\).\\{" + kk + "\\}/\\1" + esc + "/"
                              : n + "s/.\\{" + kk + "\\}\\(.\\{" + std::to_string(s) + "\\}\\)$/" + esc + "\\1/";
  return "LC_ALL=C sed -i " + shell_word(script) + " " + shell_word(file);
}

std::string fix_script(const std::vector<Check>& checks, const target::UnitFile& unit, const std::string& unit_dir) {
  std::string out = "#!/bin/sh\n# pmtrace doctor: the fixes it proposes for " + comment(unit.name) + " (" + comment(unit.path) + ").\n"
                    "# For a person to review before running it: doctor itself changed nothing.\n"
                    "# Run as root; then run pmtrace doctor " + comment(unit.name) + " again.\nset -eu\n";
  std::set<std::string> done;
  std::vector<std::string> by_hand;
  std::map<std::string, std::vector<std::string>> sections;  // drop-in: section -> lines
  std::vector<std::string> dropin_for;
  for (const auto& c : checks) {
    if (c.status != Status::failure && c.status != Status::warning) continue;
    std::string what = std::string(tag(c.status)) + " " + rules::check_name(c.id) + ": " + comment(c.title);
    if (c.commands.empty() && c.unit_lines.empty()) {
      by_hand.push_back(what + (c.fix.empty() ? "" : "\n#     fix: " + comment(c.fix)));
      continue;
    }
    if (!c.commands.empty()) {
      out += "\n# " + what + "\n";
      for (const auto& cmd : c.commands) {
        if (!done.insert(cmd).second) {
          out += "# (done above)\n";
          continue;
        }
        out += cmd + "\n";
      }
    }
    if (!c.unit_lines.empty()) {
      dropin_for.push_back(what);
      for (const auto& l : c.unit_lines) {
        if (!one_line(l.line) || !one_line(l.section)) {
          by_hand.push_back(what + "\n#     (a unit setting with control characters, not written: " + comment(l.line) + ")");
          continue;
        }
        auto& lines = sections[l.section];
        if (std::find(lines.begin(), lines.end(), l.line) == lines.end()) lines.push_back(l.line);
      }
    }
  }
  if (!sections.empty()) {
    std::string dir = unit_dir + "/" + unit.name + ".d";
    out += "\n# Unit settings, in a drop-in:\n";
    for (const auto& w : dropin_for) out += "#   " + w + "\n";
    out += "mkdir -p " + shell_word(dir) + "\ncat > " + shell_word(dir + "/50-pmtrace-doctor.conf") + " <<'PMTRACE_EOF'\n";
    out += "# Written by pmtrace doctor's fix script.\n";
    for (const char* section : {"Unit", "Service"}) {
      auto it = sections.find(section);
      if (it == sections.end()) continue;
      out += "[" + it->first + "]\n";
      for (const auto& l : it->second) out += l + "\n";
    }
    out += "PMTRACE_EOF\nif [ -d /run/systemd/system ]; then systemctl daemon-reload; fi\n";
  }
  if (!by_hand.empty()) {
    out += "\n# Not fixable by a script (a person decides):\n";
    for (const auto& b : by_hand) out += "#   " + b + "\n";
  }
  return out;
}

}  // namespace pm::doctor
