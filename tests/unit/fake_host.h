// A machine for doctor's checks made of a few lines per test: users and
// groups, files and directories (content, mode, owner, symlinks), listeners,
// databases that accept, refuse or never answer, and the answer of the app
// import child. access() is computed as the kernel does it (owner, group,
// other bits; x on every directory on the way; root reads and writes
// anything, and executes what has an x bit). Nothing touches the real
// machine, so the checks run without root.
#pragma once

#include <fnmatch.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "doctor/host.h"

namespace pm::testing {

class FakeHost : public doctor::Host {
 public:
  struct Node {
    doctor::FileType type = doctor::FileType::regular;
    std::uint32_t mode = 0644, uid = 0, gid = 0;
    std::string content;  // a regular file's bytes; a symlink's target
  };

  // A small Debian: root and nobody, /, /tmp, the service directories,
  // /bin/sh, /usr/bin/python3 and a gunicorn script that runs with it.
  FakeHost() {
    user("root", 0, 0, "/root").user("nobody", 65534, 65534, "/nonexistent");
    group("root", 0).group("nogroup", 65534);
    nodes_["/"] = {doctor::FileType::directory, 0755, 0, 0, ""};
    for (const char* d : {"/etc", "/usr/bin", "/var/log", "/var/lib", "/var/cache", "/run", "/srv", "/opt"}) dir(d);
    dir("/tmp", 01777).dir("/var/tmp", 01777);
    exe("/bin/sh", "\x7f" "ELF").exe("/usr/bin/python3", "\x7f" "ELF");
    exe("/usr/bin/gunicorn", "#!/usr/bin/python3\nfrom gunicorn.app.wsgiapp import run\nrun()\n");
    file("/proc/sys/net/ipv4/tcp_syn_retries", "6\n");
  }

  // --- the machine, set up ---
  FakeHost& user(const std::string& name, std::uint32_t uid, std::uint32_t gid, std::string home = "") {
    users_[name] = {name, uid, gid, home.empty() ? "/home/" + name : home};
    return *this;
  }
  FakeHost& group(const std::string& name, std::uint32_t gid, std::vector<std::string> members = {}) {
    groups_[name] = {name, gid, gid, ""};
    members_[gid] = std::set<std::string>(members.begin(), members.end());
    return *this;
  }
  FakeHost& file(const std::string& path, std::string content = "", std::uint32_t mode = 0644,
                 const std::string& owner = "root", const std::string& grp = "") {
    return put(path, {doctor::FileType::regular, mode, uid_of(owner), gid_of(grp.empty() ? owner : grp), std::move(content)});
  }
  FakeHost& exe(const std::string& path, std::string content, std::uint32_t mode = 0755, const std::string& owner = "root") {
    return file(path, std::move(content), mode, owner);
  }
  FakeHost& dir(const std::string& path, std::uint32_t mode = 0755, const std::string& owner = "root",
                const std::string& grp = "") {
    return put(path, {doctor::FileType::directory, mode, uid_of(owner), gid_of(grp.empty() ? owner : grp), ""});
  }
  FakeHost& link(const std::string& path, const std::string& target) {
    return put(path, {doctor::FileType::symlink, 0777, 0, 0, target});
  }
  FakeHost& socket(const std::string& path, const std::string& owner = "root") {
    return put(path, {doctor::FileType::socket, 0777, uid_of(owner), gid_of(owner), ""});
  }
  FakeHost& remove(const std::string& path) {
    nodes_.erase(path);
    return *this;
  }
  // A process listening on a TCP port (bind() there fails with EADDRINUSE).
  FakeHost& listener(std::uint16_t port, std::uint32_t pid, const std::string& comm, std::vector<std::string> argv) {
    listeners_[port].push_back({pid, comm, std::move(argv)});
    return *this;
  }
  // A database at address:port: 0 accepts, ECONNREFUSED, ETIMEDOUT (no
  // answer). An address not given refuses.
  FakeHost& database(const std::string& address, std::uint16_t port, int answer = 0) {
    connects_[address + ":" + std::to_string(port)] = answer;
    return *this;
  }
  // The app import child cannot be started at all (doctor's own fork or pipe failed).
  FakeHost& child_not_started(std::string why) {
    child_ = doctor::ChildResult{};
    child_.failure = std::move(why);
    return *this;
  }
  // The app import child: its fd-3 answer (the probe's JSON), its output and exit code.
  FakeHost& app(const nlohmann::json& answer, std::string output = "", int exit_code = 0) {
    child_ = doctor::ChildResult{true, W_EXITCODE(exit_code, 0), false, "", std::move(output), answer.dump(), 120};
    return *this;
  }
  // The import child still running at the time limit, sitting in `syscall`.
  FakeHost& app_hangs(const std::string& syscall) {
    child_ = doctor::ChildResult{true, W_EXITCODE(0, SIGKILL), true, syscall, "", "", 20000};
    return *this;
  }
  target::ManagerDefaults defaults;  // system.conf, as systemd's built-in values unless a test sets them

  // --- what the checks did ---
  struct Run {
    doctor::User user;
    doctor::ChildRun run;
  };
  mutable std::vector<Run> runs;  // every child run_as started

  // --- doctor::Host ---
  std::optional<doctor::Account> user_by_name(const std::string& name) const override { return find(users_, name); }
  std::optional<doctor::Account> user_by_id(std::uint32_t uid) const override { return find_id(users_, uid); }
  std::optional<doctor::Account> group_by_name(const std::string& name) const override { return find(groups_, name); }
  std::optional<doctor::Account> group_by_id(std::uint32_t gid) const override { return find_id(groups_, gid); }

  bool can(const doctor::User& u, const std::string& path, int mode) const override {
    auto real = resolve(path, true);
    if (!real) return false;
    for (std::string d = parent(*real); d != *real;) {  // x on every directory on the way
      if (!allowed(nodes_.at(d), u, X_OK)) return false;
      if (d == "/") break;
      d = parent(d);
    }
    return allowed(nodes_.at(*real), u, mode);
  }
  doctor::PathStat stat(const std::string& path) const override { return stat_of(resolve(path, true)); }
  doctor::PathStat lstat(const std::string& path) const override {
    auto s = stat_of(resolve(path, false));
    if (s.type == doctor::FileType::symlink) {
      s.link_target = nodes_.at(*resolve(path, false)).content;
      s.target_exists = resolve(path, true).has_value();
    }
    return s;
  }
  std::optional<std::string> read_file(const std::string& path) const override {
    auto real = resolve(path, true);
    errno = !real ? ENOENT : nodes_.at(*real).type == doctor::FileType::directory ? EISDIR
                         : nodes_.at(*real).type != doctor::FileType::regular    ? EINVAL
                                                                                   : 0;
    if (errno) return std::nullopt;
    return nodes_.at(*real).content;
  }
  std::string shebang(const std::string& path) const override {
    auto text = read_file(path);
    if (!text || text->compare(0, 2, "#!") != 0) return "";
    return text->substr(0, std::min(text->find('\n'), std::size_t{256}));
  }
  std::vector<std::string> glob(const std::string& pattern) const override {
    std::vector<std::string> out;
    for (const auto& [path, n] : nodes_)
      if (::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0) out.push_back(path);
    return out;
  }
  std::string find_in_path(const std::string& name) const override {
    for (const char* d : {"/usr/local/bin", "/usr/bin", "/bin"})
      if (stat(std::string(d) + "/" + name).type == doctor::FileType::regular) return std::string(d) + "/" + name;
    return "";
  }
  target::ManagerDefaults manager_defaults() const override { return defaults; }
  std::vector<analysis::PortHolder> listeners(std::uint16_t port) const override {
    auto it = listeners_.find(port);
    return it == listeners_.end() ? std::vector<analysis::PortHolder>{} : it->second;
  }
  int bind_probe(const std::string&, std::uint16_t port, bool) const override {
    return listeners_.count(port) ? EADDRINUSE : 0;
  }
  int connect_probe(const std::string& address, std::uint16_t port, int) const override {
    auto it = connects_.find(address + ":" + std::to_string(port));
    return it == connects_.end() ? ECONNREFUSED : it->second;
  }
  doctor::ChildResult run_as(const doctor::User& u, const doctor::ChildRun& run) const override {
    runs.push_back({u, run});
    return child_;
  }

 private:
  FakeHost& put(const std::string& path, Node n) {
    for (std::string d = parent(path); !nodes_.count(d); d = parent(d)) nodes_[d] = {doctor::FileType::directory, 0755, 0, 0, ""};
    nodes_[path] = std::move(n);
    return *this;
  }
  static std::string parent(const std::string& p) {
    auto slash = p.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
  }
  std::uint32_t uid_of(const std::string& name) const {
    auto it = users_.find(name);
    return it == users_.end() ? static_cast<std::uint32_t>(std::stoul(name)) : it->second.id;
  }
  std::uint32_t gid_of(const std::string& name) const {
    if (auto it = groups_.find(name); it != groups_.end()) return it->second.id;
    if (auto it = users_.find(name); it != users_.end()) return it->second.gid;
    return static_cast<std::uint32_t>(std::stoul(name));
  }
  static std::optional<doctor::Account> find(const std::map<std::string, doctor::Account>& m, const std::string& name) {
    auto it = m.find(name);
    return it == m.end() ? std::nullopt : std::optional(it->second);
  }
  static std::optional<doctor::Account> find_id(const std::map<std::string, doctor::Account>& m, std::uint32_t id) {
    for (const auto& [name, a] : m)
      if (a.id == id) return a;
    return std::nullopt;
  }
  // The node a path names, symlinks on the way followed (the last one only
  // when `follow`); nullopt when it does not exist.
  std::optional<std::string> resolve(const std::string& path, bool follow, int depth = 0) const {
    if (depth > 40 || path.empty() || path[0] != '/') return std::nullopt;
    std::vector<std::string> parts;
    for (std::size_t i = 1; i <= path.size();) {
      auto j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      if (j > i && path.compare(i, j - i, ".") != 0) parts.push_back(path.substr(i, j - i));
      i = j + 1;
    }
    std::string cur = "/";
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (parts[i] == "..") {
        cur = parent(cur);
        continue;
      }
      std::string next = (cur == "/" ? "" : cur) + "/" + parts[i];
      auto it = nodes_.find(next);
      if (it == nodes_.end()) return std::nullopt;
      if (it->second.type == doctor::FileType::symlink && (i + 1 < parts.size() || follow)) {
        const std::string& t = it->second.content;
        std::string rest = t[0] == '/' ? t : (cur == "/" ? "" : cur) + "/" + t;
        for (std::size_t k = i + 1; k < parts.size(); ++k) rest += "/" + parts[k];
        return resolve(rest, follow, depth + 1);
      }
      cur = next;
    }
    return cur;
  }
  doctor::PathStat stat_of(const std::optional<std::string>& real) const {
    doctor::PathStat s;
    if (!real) return s;
    const Node& n = nodes_.at(*real);
    s.exists = true;
    s.type = n.type;
    s.mode = n.mode;
    s.uid = n.uid;
    s.gid = n.gid;
    if (auto u = user_by_id(n.uid)) s.owner = u->name;
    if (auto g = group_by_id(n.gid)) s.group = g->name;
    return s;
  }
  bool in_group(const doctor::User& u, std::uint32_t gid) const {
    if (u.gid == gid) return true;
    for (auto g : u.extra_groups)
      if (g == gid) return true;
    auto it = members_.find(gid);
    return it != members_.end() && it->second.count(u.name);
  }
  bool allowed(const Node& n, const doctor::User& u, int mode) const {
    if (u.uid == 0) return !(mode & X_OK) || n.type == doctor::FileType::directory || (n.mode & 0111);
    std::uint32_t bits = n.uid == u.uid ? n.mode >> 6 : in_group(u, n.gid) ? n.mode >> 3 : n.mode;
    return (bits & 7 & static_cast<std::uint32_t>(mode)) == static_cast<std::uint32_t>(mode);
  }

  std::map<std::string, doctor::Account> users_, groups_;
  std::map<std::uint32_t, std::set<std::string>> members_;
  std::map<std::string, Node> nodes_;
  std::map<std::uint16_t, std::vector<analysis::PortHolder>> listeners_;
  std::map<std::string, int> connects_;
  doctor::ChildResult child_{true, W_EXITCODE(127, 0), false, "", "", "", 5};  // no app answer set: the interpreter did not run
};

}  // namespace pm::testing
