#include "target/unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "target/unit_file.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace pm::target {
namespace {

const char* const kDefaultUnitPaths[] = {
    "/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
    "/lib/systemd/system", "/usr/lib/systemd/system",
};

// The longest unit name systemd accepts (UNIT_NAME_MAX - 1, unit-name.h).
constexpr std::size_t kUnitNameMax = 255;

const char* const kUnitSuffixes[] = {".service", ".scope", ".slice", ".socket", ".target",
                                     ".timer",   ".mount", ".path"};

bool is_dir(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string default_cgroup(const std::string& unit, const std::string& slice) {
  return slice_to_path(slice.empty() ? "system.slice" : slice) + "/" + unit;
}

}  // namespace

UnitEnv UnitEnv::from_system() {
  UnitEnv env;
  env.systemd_running = ::access("/run/systemd/system", F_OK) == 0;
  const char* sup = std::getenv("SYSTEMD_UNIT_PATH");
  if (sup && *sup) {
    std::string s(sup);
    env.unit_paths = split(s, ':');
    // As in systemd: a trailing ':' appends the default search path.
    if (s.back() == ':')
      for (const char* p : kDefaultUnitPaths) env.unit_paths.emplace_back(p);
  } else {
    for (const char* p : kDefaultUnitPaths) env.unit_paths.emplace_back(p);
  }
  return env;
}

UnitEnv UnitEnv::of_root(const std::string& root) {
  UnitEnv env;
  env.root = root;
  for (const char* p : kDefaultUnitPaths) env.unit_paths.emplace_back(p);
  return env;
}

bool has_unit_suffix(const std::string& name) {
  for (const char* s : kUnitSuffixes)
    if (ends_with(name, s)) return true;
  return false;
}

std::string normalize_unit_name(const std::string& name) {
  return has_unit_suffix(name) ? name : name + ".service";
}

std::string slice_to_path(const std::string& slice) {
  if (slice.empty() || slice == "-.slice") return "";
  std::string base = ends_with(slice, ".slice") ? slice.substr(0, slice.size() - 6) : slice;
  std::string out;
  std::string prefix;
  for (const auto& part : split(base, '-')) {
    prefix = prefix.empty() ? part : prefix + "-" + part;
    out += "/" + prefix + ".slice";
  }
  return out;
}

std::string slice_from_unit_text(const std::string& text) {
  std::string slice;
  for (const auto& s : parse_unit_text(text, "")) {
    if (s.key != "Slice") continue;
    // systemd ignores a Slice= that is no valid unit name; one longer than
    // 255 characters (UNIT_NAME_MAX) would also make slice_to_path's result
    // quadratic in its length (64 KB of "a-": 1 GB, 10 s).
    if (s.value.size() <= kUnitNameMax) slice = s.value;
  }
  return slice;
}

Result<Unit> resolve_unit(const std::string& name, const UnitEnv& env, const std::string& cgroup2_root) {
  Unit u;
  u.name = normalize_unit_name(name);
  if (u.name.find('/') != std::string::npos || u.name.size() > 255)
    return make_error("'" + name + "' is not a valid unit name");

  if (env.systemd_running) {
    auto out = run_capture({"systemctl", "show", "--property=LoadState,ControlGroup,Slice,FragmentPath", "--",
                            u.name});
    if (!out) return out.error();
    std::string load, cg, slice;
    for (const auto& line : split(out->out, '\n')) {
      if (starts_with(line, "LoadState=")) load = line.substr(10);
      if (starts_with(line, "ControlGroup=")) cg = line.substr(13);
      if (starts_with(line, "Slice=")) slice = line.substr(6);
      if (starts_with(line, "FragmentPath=")) u.unit_file = line.substr(13);
    }
    if (out->status != 0 || load == "not-found" || load.empty())
      return make_error("no unit named " + u.name + " (systemctl list-unit-files shows the known ones)");
    u.cgroup = cg.empty() ? default_cgroup(u.name, slice) : cg;
    u.source = "systemd";
    return u;
  }

  for (const auto& dir : env.unit_paths) {
    std::string path = env.root + dir + "/" + u.name;
    if (auto text = read_file(path)) {
      u.unit_file = path;
      u.cgroup = default_cgroup(u.name, slice_from_unit_text(*text));
      u.source = "unit file";
      return u;
    }
  }
  // No unit file, but its cgroup exists (a transient unit, or made by hand).
  std::string cg = default_cgroup(u.name, "");
  if (!cgroup2_root.empty() && is_dir(cgroup2_root + cg)) {
    u.cgroup = cg;
    u.source = "cgroup";
    return u;
  }
  return make_error("no unit named " + u.name + " (systemctl list-unit-files shows the known ones; searched " +
                    join(env.unit_paths, ":") + ")");
}

std::vector<std::string> units_started_by(const std::vector<std::string>& argv) {
  std::vector<std::string> units;
  if (argv.empty()) return units;
  auto slash = argv[0].rfind('/');
  std::string cmd = slash == std::string::npos ? argv[0] : argv[0].substr(slash + 1);
  if (cmd != "systemctl") return units;
  bool verb_seen = false;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const auto& a = argv[i];
    if (!verb_seen) {
      if (starts_with(a, "-")) continue;
      if (a == "start" || a == "restart" || a == "reload-or-restart" || a == "try-restart")
        verb_seen = true;
      else
        return units;
      continue;
    }
    if (starts_with(a, "-")) continue;
    units.push_back(normalize_unit_name(a));
  }
  return units;
}

}  // namespace pm::target
