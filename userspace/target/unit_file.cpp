#include "target/unit_file.h"
#include "analysis/unit_context.h"

#include "util/subprocess.h"

#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <map>

#include "util/strings.h"

namespace pm::target {
namespace {

bool is_file(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// "foo@bar.service" -> "foo@.service"; "" when it is not an instance.
std::string template_of(const std::string& name) {
  auto at = name.find('@');
  auto dot = name.rfind('.');
  if (at == std::string::npos || dot == std::string::npos || dot < at || dot == at + 1) return "";
  return name.substr(0, at + 1) + name.substr(dot);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// systemd's unit name unescaping: '-' is '/', "\xNN" a byte.
std::string unescape_name(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '-') {
      out += '/';
    } else if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && hex_value(s[i + 2]) >= 0 &&
               hex_value(s[i + 3]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 2]) * 16 + hex_value(s[i + 3]));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// One C escape at s[i] (the backslash); appends it and advances i past it.
bool c_unescape(std::string_view s, std::size_t& i, std::string& out) {
  if (i + 1 >= s.size()) return false;
  char c = s[++i];
  switch (c) {
    case 'a': out += '\a'; return true;
    case 'b': out += '\b'; return true;
    case 'f': out += '\f'; return true;
    case 'n': out += '\n'; return true;
    case 'r': out += '\r'; return true;
    case 't': out += '\t'; return true;
    case 'v': out += '\v'; return true;
    case 's': out += ' '; return true;
    case '\\': case '"': case '\'': case ' ': case '$': case ';': out += c; return true;
    case 'x': {
      if (i + 2 >= s.size() || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0) return false;
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
      return true;
    }
    default:
      if (c >= '0' && c <= '7') {
        if (i + 2 >= s.size() || s[i + 1] < '0' || s[i + 1] > '7' || s[i + 2] < '0' || s[i + 2] > '7') return false;
        int v = (c - '0') * 64 + (s[i + 1] - '0') * 8 + (s[i + 2] - '0');
        if (v > 255) return false;
        out += static_cast<char>(v);
        i += 2;
        return true;
      }
      return false;
  }
}

}  // namespace

const UnitSetting* UnitFile::last(std::string_view section, std::string_view key) const {
  for (auto it = settings.rbegin(); it != settings.rend(); ++it)
    if (it->section == section && it->key == key) return &*it;
  return nullptr;
}

std::vector<const UnitSetting*> UnitFile::list(std::string_view section, std::string_view key) const {
  std::vector<const UnitSetting*> out;
  for (const auto& s : settings) {
    if (s.section != section || s.key != key) continue;
    if (s.value.empty()) out.clear();  // an empty assignment resets the list
    else out.push_back(&s);
  }
  return out;
}

std::vector<UnitSetting> parse_unit_text(std::string_view text, const std::string& file,
                                         std::vector<std::string>* issues) {
  std::vector<UnitSetting> out;
  std::string section;
  auto lines = split(text, '\n', false);
  for (std::size_t n = 0; n < lines.size(); ++n) {
    int first_line = static_cast<int>(n) + 1;
    std::string line(trim(lines[n]));
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    // Continuation: a trailing backslash joins the next line with a space;
    // comment lines in between are skipped.
    // (systemd strips each line, then replaces the backslash by a space.)
    while (!line.empty() && line.back() == '\\' && n + 1 < lines.size()) {
      std::string next(trim(lines[++n]));
      if (!next.empty() && (next[0] == '#' || next[0] == ';')) continue;
      line.back() = ' ';
      line += next;
    }
    if (!line.empty() && line.back() == '\\') line.back() = ' ';  // at the end of the file
    if (line.front() == '[') {
      if (line.back() != ']') {
        if (issues) issues->push_back(file + ":" + std::to_string(first_line) + ": invalid section header");
        continue;
      }
      section = line.substr(1, line.size() - 2);
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      if (issues) issues->push_back(file + ":" + std::to_string(first_line) + ": missing '=', line ignored");
      continue;
    }
    if (section.empty()) {
      if (issues) issues->push_back(file + ":" + std::to_string(first_line) + ": assignment outside of a section, ignored");
      continue;
    }
    UnitSetting s;
    s.section = section;
    s.key = std::string(trim(std::string_view(line).substr(0, eq)));
    s.value = std::string(trim(std::string_view(line).substr(eq + 1)));
    s.file = file;
    s.line = first_line;
    out.push_back(std::move(s));
  }
  return out;
}

Result<UnitFile> load_unit_file(const std::string& raw_name, const UnitEnv& env) {
  UnitFile u;
  u.name = normalize_unit_name(raw_name);
  if (raw_name.empty() || u.name.find('/') != std::string::npos || u.name.size() > 255 || u.name[0] == '.')
    return make_error("'" + raw_name + "' is not a valid unit name", "a unit name such as projectmeats or projectmeats.service");
  std::string tmpl = template_of(u.name);
  for (const auto& dir : env.unit_paths) {
    for (const auto& candidate : {u.name, tmpl}) {
      if (candidate.empty()) continue;
      std::string p = env.root + dir + "/" + candidate;
      if (!is_file(p)) {
        char target[4096];
        ssize_t n = ::readlink(p.c_str(), target, sizeof target - 1);
        if (n > 0 && std::string(target, n) == "/dev/null")
          return make_error("unit " + u.name + " is masked (" + p + " -> /dev/null)", "systemctl unmask " + u.name);
        continue;
      }
      u.path = p;
      break;
    }
    if (!u.path.empty()) break;
  }
  if (u.path.empty())
    return make_error("no unit named " + u.name + " (searched " + join(env.unit_paths, ", ") + ")",
                      "systemctl list-unit-files shows the known ones");
  auto text = read_file(u.path);
  if (!text) return errno_error("cannot read the unit file " + u.path);
  u.settings = parse_unit_text(*text, u.path, &u.issues);

  // Drop-ins: NAME.d/*.conf (and the template's), by file name; a name in an
  // earlier directory of the search path hides the same name in later ones.
  std::map<std::string, std::string> dropins;  // file name -> path
  for (const auto& dir : env.unit_paths) {
    for (const auto& base : {tmpl, u.name}) {
      if (base.empty()) continue;
      std::string d = env.root + dir + "/" + base + ".d";
      DIR* dp = ::opendir(d.c_str());
      if (!dp) continue;
      while (auto* ent = ::readdir(dp)) {
        std::string f = ent->d_name;
        if (!ends_with(f, ".conf") || !is_file(d + "/" + f)) continue;
        dropins.emplace(f, d + "/" + f);
      }
      ::closedir(dp);
    }
  }
  for (const auto& [f, path] : dropins) {
    auto t = read_file(path);
    if (!t) continue;
    u.dropins.push_back(path);
    for (auto& s : parse_unit_text(*t, path, &u.issues)) u.settings.push_back(std::move(s));
  }
  return u;
}

ManagerDefaults read_manager_defaults(const std::string& root) {
  ManagerDefaults d;
  std::vector<std::string> files{root + "/etc/systemd/system.conf"};
  std::map<std::string, std::string> dropins;  // file name -> path; the first directory wins
  for (const char* dir : {"/etc/systemd/system.conf.d", "/run/systemd/system.conf.d", "/usr/local/lib/systemd/system.conf.d",
                          "/usr/lib/systemd/system.conf.d"}) {
    DIR* dp = ::opendir((root + dir).c_str());
    if (!dp) continue;
    while (auto* ent = ::readdir(dp)) {
      std::string f = ent->d_name;
      if (ends_with(f, ".conf")) dropins.emplace(f, root + dir + "/" + f);
    }
    ::closedir(dp);
  }
  for (const auto& [f, path] : dropins) files.push_back(path);
  for (const auto& path : files) {
    auto text = read_file(path);
    if (!text) continue;
    d.files.push_back(path);
    for (const auto& st : parse_unit_text(*text, path)) {
      if (st.section != "Manager") continue;
      auto span = [&](long long& out) {
        if (auto v = parse_timespan_ms(st.value)) out = *v;
      };
      if (st.key == "DefaultTimeoutStartSec") span(d.timeout_start_ms);
      else if (st.key == "DefaultRestartSec") span(d.restart_ms);
      else if (st.key == "DefaultStartLimitIntervalSec") span(d.start_limit_interval_ms);
      else if (st.key == "DefaultStartLimitBurst") {
        if (auto v = parse_int(st.value); v && *v >= 0) d.start_limit_burst = *v;
      } else if (st.key == "DefaultEnvironment") {
        if (st.value.empty()) d.environment.clear();
        else if (auto words = parse_exec(st.value, "system.conf"); words)
          for (const auto& w : words->argv) d.environment.push_back(w);
      }
    }
  }
  return d;
}

UnitFile unit_from_systemctl_cat(const std::string& name, std::string_view text,
                                 const std::function<bool(const std::string&)>& exists) {
  UnitFile u;
  u.name = normalize_unit_name(name);
  // Split into (path, text) at the "# /..." header lines systemctl writes.
  std::vector<std::pair<std::string, std::string>> files;
  bool after_blank = true;
  for (const auto& line : split(text, '\n', false)) {
    if (starts_with(line, "# /") && after_blank && (exists ? exists(line.substr(2)) : is_file(line.substr(2)))) {
      files.emplace_back(line.substr(2), "");
      continue;
    }
    after_blank = trim(line).empty();
    if (!files.empty()) files.back().second += line + "\n";
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i == 0) u.path = files[i].first;
    else u.dropins.push_back(files[i].first);
    for (auto& st : parse_unit_text(files[i].second, files[i].first, &u.issues)) u.settings.push_back(std::move(st));
  }
  return u;
}

std::optional<long long> parse_timespan_ms(std::string_view value) {
  value = trim(value);
  if (value == "infinity") return std::numeric_limits<long long>::max();
  // systemd's units (src/basic/time-util.c), as multiples of a millisecond.
  static const std::pair<const char*, double> units[] = {
      {"usec", 0.001}, {"us", 0.001}, {"msec", 1}, {"ms", 1}, {"seconds", 1000}, {"second", 1000},
      {"sec", 1000}, {"s", 1000}, {"minutes", 60000}, {"minute", 60000}, {"min", 60000}, {"months", 2629800000.0},
      {"month", 2629800000.0}, {"M", 2629800000.0}, {"m", 60000}, {"hours", 3600000}, {"hour", 3600000},
      {"hr", 3600000}, {"h", 3600000}, {"days", 86400000}, {"day", 86400000}, {"d", 86400000},
      {"weeks", 604800000}, {"week", 604800000}, {"w", 604800000}, {"years", 31557600000.0},
      {"year", 31557600000.0}, {"y", 31557600000.0}};
  if (value.empty()) return std::nullopt;
  double total = 0;
  std::size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && value[i] == ' ') ++i;
    if (i == value.size()) break;
    std::size_t start = i;
    while (i < value.size() && ((value[i] >= '0' && value[i] <= '9') || value[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double n = std::strtod(std::string(value.substr(start, i - start)).c_str(), nullptr);
    while (i < value.size() && value[i] == ' ') ++i;
    std::size_t ustart = i;
    while (i < value.size() && ((value[i] >= 'a' && value[i] <= 'z') || (value[i] >= 'A' && value[i] <= 'Z'))) ++i;
    std::string_view unit = value.substr(ustart, i - ustart);
    double mult = unit.empty() ? 1000 : 0;
    for (const auto& [name, m] : units)
      if (unit == name) mult = m;
    if (mult == 0) return std::nullopt;
    total += n * mult;
    if (!(total < 9.2e18)) return std::nullopt;
  }
  return static_cast<long long>(total);
}

Result<std::string> expand_specifiers(std::string_view value, const std::string& name, const std::string& user) {
  std::string base = name.substr(0, name.rfind('.'));
  auto at = base.find('@');
  std::string prefix = at == std::string::npos ? base : base.substr(0, at);
  std::string instance = at == std::string::npos ? "" : base.substr(at + 1);
  struct passwd* pw = ::getpwnam(user.c_str());
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out += value[i];
      continue;
    }
    if (i + 1 >= value.size()) return make_error("a lone '%' at the end of '" + std::string(value) + "'");
    char c = value[++i];
    switch (c) {
      case '%': out += '%'; break;
      case 'n': out += name; break;
      case 'N': out += base; break;
      case 'p': out += prefix; break;
      case 'P': out += unescape_name(prefix); break;
      case 'i': out += instance; break;
      case 'I': out += unescape_name(instance); break;
      case 'f': out += "/" + unescape_name(instance.empty() ? prefix : instance); break;
      case 'j': out += prefix.substr(prefix.rfind('-') == std::string::npos ? 0 : prefix.rfind('-') + 1); break;
      case 'J': {
        auto dash = prefix.rfind('-');
        out += unescape_name(prefix.substr(dash == std::string::npos ? 0 : dash + 1));
        break;
      }
      case 'u': out += user; break;
      case 'U': out += pw ? std::to_string(pw->pw_uid) : user; break;
      case 'h': out += pw ? pw->pw_dir : "/root"; break;
      case 'g': {
        struct group* gr = pw ? ::getgrgid(pw->pw_gid) : nullptr;
        out += gr ? gr->gr_name : user;
        break;
      }
      case 'G': out += pw ? std::to_string(pw->pw_gid) : "0"; break;
      case 't': out += "/run"; break;
      case 'S': out += "/var/lib"; break;
      case 'C': out += "/var/cache"; break;
      case 'L': out += "/var/log"; break;
      case 'E': out += "/etc"; break;
      case 'T': out += "/tmp"; break;
      case 'V': out += "/var/tmp"; break;
      case 'H': {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        out += host;
        break;
      }
      default:
        return make_error(std::string("unknown specifier %") + c + " in '" + std::string(value) + "'");
    }
  }
  return out;
}

Result<ExecCommand> parse_exec(std::string_view value, const std::string& unit_name, const std::string& user) {
  ExecCommand cmd;
  std::size_t i = 0;
  bool argv0_given = false;
  // Prefixes, in any order: @ - : + ! !!
  for (; i < value.size(); ++i) {
    char c = value[i];
    if (c == '@') argv0_given = true;
    else if (c == '-') cmd.ignore_failure = true;
    else if (c == ':') cmd.no_env_expand = true;
    else if (c == '+' || c == '!') cmd.privileged = true;
    else break;
  }
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (; i < value.size(); ++i) {
    char c = value[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"') {
        if (!c_unescape(value, i, word)) return make_error("invalid escape in '" + std::string(value) + "'");
      } else {
        word += c;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '\\') {
      if (!c_unescape(value, i, word)) return make_error("invalid escape in '" + std::string(value) + "'");
    } else {
      word += c;
    }
  }
  if (quote) return make_error("unbalanced quotes in '" + std::string(value) + "'");
  if (in_word) words.push_back(std::move(word));
  for (auto& w : words) {
    auto expanded = expand_specifiers(w, unit_name, user);
    if (!expanded) return expanded.error();
    w = std::move(*expanded);
  }
  if (words.empty()) return make_error("an empty command line");
  cmd.path = words[0];
  if (argv0_given) {
    if (words.size() < 2) return make_error("'@' needs the program and then its argv[0]");
    words.erase(words.begin());
  }
  cmd.argv = std::move(words);
  return cmd;
}

Result<UnitFile> load_unit_as_loaded(const std::string& name, const UnitEnv& env, bool files_only, std::string* source) {
  if (env.systemd_running && !files_only) {
    std::string unit = normalize_unit_name(name);
    auto cat = run_capture({"systemctl", "cat", "--no-pager", "--", unit});
    if (cat && cat->status == 0 && !cat->out.empty()) {
      if (source) *source = "systemctl cat";
      return unit_from_systemctl_cat(unit, cat->out);
    }
    if (cat && cat->status != 0)
      return make_error("no unit named " + unit + " (systemctl cat found no file for it)",
                        "systemctl list-unit-files shows the known ones");
  }
  if (source) *source = "unit files";
  return load_unit_file(name, env);
}

Sandbox sandbox_of(const UnitFile& u) {
  Sandbox sb;
  auto value = [&](const char* key, const std::string& def) {
    const auto* s = u.last("Service", key);
    return s && !s->value.empty() ? s->value : def;
  };
  sb.protect_system = value("ProtectSystem", "no");
  sb.protect_home = value("ProtectHome", "no");
  std::string ptmp = value("PrivateTmp", "no");
  sb.private_tmp = ptmp == "yes" || ptmp == "true" || ptmp == "1" || ptmp == "on";
  for (const auto* s : u.list("Service", "ReadWritePaths"))
    for (const auto& w : split(s->value, ' ')) sb.writable.push_back(w);
  for (const auto& m : analysis::managed_directories())
    for (const auto* s : u.list("Service", m.setting))
      for (const auto& w : split(s->value, ' ')) sb.writable.push_back(std::string(m.top) + "/" + w.substr(0, w.find(':')));
  return sb;
}

ShellWrapper read_shell_wrapper(std::string_view text, const std::string& wrapper_dir,
                                const std::vector<std::string>& args) {
  ShellWrapper w;
  // A line ending in a backslash goes on in the next one, as sh reads it.
  std::vector<std::string> lines;
  bool joining = false;
  for (const auto& raw : split(text, '\n', false)) {
    std::string part(trim(raw));
    if (joining) lines.back() += " " + part;
    else lines.push_back(part);
    joining = !lines.back().empty() && lines.back().back() == '\\';
    if (joining) lines.back().pop_back();
  }
  for (const auto& raw : lines) {
    std::string line(trim(raw));
    if (line.empty() || line[0] == '#') continue;
    // One shell command at a time: "cd /srv/app && exec gunicorn ...".
    std::vector<std::vector<std::string>> commands(1);
    for (auto word : split(line, ' ')) {
      if (word == "&&" || word == "||" || word == ";") {
        commands.emplace_back();
        continue;
      }
      bool ends = word.size() > 1 && word.back() == ';';
      if (ends) word.pop_back();
      if (word.size() >= 2 && (word.front() == '"' || word.front() == '\'') && word.back() == word.front())
        word = word.substr(1, word.size() - 2);
      commands.back().push_back(word);
      if (ends) commands.emplace_back();
    }
    for (const auto& words : commands) {
      if (words.size() >= 2 && (words[0] == "." || words[0] == "source") && ends_with(words[1], "/bin/activate")) {
        w.venv_bin = words[1].substr(0, words[1].size() - 9);  // ".../bin"
        continue;
      }
      if (!words.empty() && (starts_with(words[0], "PATH=") ||
                             (words.size() >= 2 && words[0] == "export" && starts_with(words[1], "PATH=")))) {
        std::string v = words[0] == "export" ? words[1].substr(5) : words[0].substr(5);
        std::string first = v.substr(0, v.find(':'));
        if (!first.empty() && first.find('$') == std::string::npos) w.venv_bin = first;
        continue;
      }
      if (words.size() >= 2 && words[0] == "cd") {  // where the wrapper runs gunicorn
        std::string dir = join(std::vector<std::string>(words.begin() + 1, words.end()), " ");
        auto dn = dir.find("dirname");
        auto close = dir.find(')', dn == std::string::npos ? 0 : dn);
        if (dn != std::string::npos && dir.find("$0") != std::string::npos && close != std::string::npos) {
          // cd "$(dirname "$0")/app": the wrapper's own directory, and what follows.
          std::string rest = dir.substr(close + 1);
          rest.erase(std::remove(rest.begin(), rest.end(), '"'), rest.end());
          w.cd = wrapper_dir + rest;
        } else if (dir.find_first_of("$`*? ") != std::string::npos) {
          w.cd_unknown = dir;
        } else {
          w.cd = dir;
        }
        continue;
      }
      for (std::size_t i = 0; i < words.size(); ++i) {
        if (basename_of(words[i]) != "gunicorn") continue;
        w.gunicorn_argv = {words[i]};
        for (std::size_t k = i + 1; k < words.size(); ++k) {
          if (words[k] == "$@" || words[k] == "${@}" || words[k] == "$*")
            w.gunicorn_argv.insert(w.gunicorn_argv.end(), args.begin(), args.end());
          else
            w.gunicorn_argv.push_back(words[k]);
        }
        w.runs_gunicorn = true;
        return w;
      }
    }
  }
  return w;
}

}  // namespace pm::target
