#include "record/facts.h"

#include "model/event_json.h"
#include "model/json_fields.h"

namespace pm::record {

using nlohmann::json;

namespace {

json file_facts_json(const analysis::FileFacts& f) {
  json j = {{"uid", f.uid}, {"gid", f.gid}, {"mode", f.mode}, {"owner", f.owner}, {"group", f.group}};
  if (f.symlink) {
    j["symlink"] = true;
    j["link_target"] = f.link_target;
    j["target_exists"] = f.target_exists;
  }
  if (!f.shebang.empty()) j["shebang"] = f.shebang;
  return j;
}

std::optional<analysis::FileFacts> file_facts_from(model::JsonFields& r) {
  analysis::FileFacts f;
  r.num("uid", f.uid);
  r.num("gid", f.gid);
  r.num("mode", f.mode);
  r.str("owner", f.owner, false);
  r.str("group", f.group, false);
  r.boolean("symlink", f.symlink, false);
  r.str("link_target", f.link_target, false);
  r.boolean("target_exists", f.target_exists, false);
  r.str("shebang", f.shebang, false);
  if (!r.ok()) return std::nullopt;
  return f;
}

}  // namespace

json memory_limit_fact(std::uint32_t pid, const std::string& limit) {
  return {{"kind", "memory_limit"}, {"pid", pid}, {"limit", limit}};
}

json database_fact(const model::SockAddr& addr, const std::string& what) {
  return {{"kind", "database"}, {"addr", model::to_json(addr)}, {"what", what}};
}

json env_file_fact(const analysis::EnvFileInfo& f) {
  json issues = json::array();
  for (const auto& i : f.issues)
    issues.push_back({{"line", i.line}, {"text", i.text}, {"key", i.key}, {"problem", i.problem}, {"corrected", i.corrected}});
  return {{"kind", "env_file"}, {"unit", f.unit},         {"path", f.path}, {"optional", f.optional},
          {"readable", f.readable}, {"keys", f.keys}, {"issues", issues}};
}

json unit_fact(const std::string& unit) { return {{"kind", "unit"}, {"name", unit}}; }

json unit_fact(const analysis::UnitContext& u) {
  json j = unit_fact(u.name);
  if (!u.loaded) return j;
  j["unit_type"] = u.type;
  j["timeout_start_ms"] = u.timeout_start_ms;
  j["notify_access"] = u.notify_access;
  j["restart"] = u.restart;
  j["exec_start"] = u.exec_start;
  j["exec_start_missing"] = u.exec_start_missing;
  j["exec_start_pre"] = u.exec_start_pre;
  j["exec_start_pre_paths"] = u.exec_start_pre_paths;
  j["exec_start_post"] = u.exec_start_post;
  j["exec_start_post_paths"] = u.exec_start_post_paths;
  j["exec_other"] = u.exec_other;
  j["exec_other_paths"] = u.exec_other_paths;
  j["user"] = u.user;
  j["user_missing"] = u.user_missing;
  j["working_directory"] = u.working_directory;
  j["load_credentials"] = u.load_credentials;
  j["credentials_missing"] = u.credentials_missing;
  j["restart_ms"] = u.restart_ms;
  j["start_limit_interval_ms"] = u.start_limit_interval_ms;
  j["start_limit_burst"] = u.start_limit_burst;
  j["protect_system"] = u.protect_system;
  j["protect_home"] = u.protect_home;
  j["private_tmp"] = u.private_tmp;
  j["read_write_paths"] = u.read_write_paths;
  return j;
}

json process_fact(std::uint32_t pid, const std::string& cgroup_path, std::optional<bool> notify_socket) {
  json j = {{"kind", "process"}, {"pid", pid}, {"cgroup", cgroup_path}};
  if (notify_socket) j["notify_socket"] = *notify_socket;
  return j;
}

json running_fact(std::uint32_t pid, std::uint32_t ppid, const std::string& comm, const std::vector<std::string>& argv) {
  return {{"kind", "running"}, {"pid", pid}, {"ppid", ppid}, {"comm", comm}, {"argv", argv}};
}

json unit_cgroup_fact(const std::string& unit, std::uint64_t id) {
  return {{"kind", "unit_cgroup"}, {"unit", unit}, {"id", id}};
}

json wrapped_fact(std::uint32_t pid) { return {{"kind", "wrapped"}, {"pid", pid}}; }

json journal_fact(const analysis::JournalLine& l) {
  return {{"kind", "journal"}, {"ts_ns", l.ts_ns},     {"unit", l.unit},
          {"pid", l.pid},      {"by_manager", l.by_manager}, {"message", l.message}};
}

bool FactStore::apply(const json& fact, analysis::Aggregator& agg, std::string* why) {
  model::JsonFields r(fact);
  std::string kind;
  r.str("kind", kind);
  if (kind == "unit") {
    analysis::UnitContext u;
    r.str("name", u.name);
    if (r.field("unit_type", false)) {
      u.loaded = true;
      r.str("unit_type", u.type);
      r.num("timeout_start_ms", u.timeout_start_ms);
      r.str("notify_access", u.notify_access, false);
      r.str("restart", u.restart, false);
      r.strings("exec_start", u.exec_start, false);
      // Recordings of pmtrace before these were facts have none of them.
      r.boolean("exec_start_missing", u.exec_start_missing, false);
      r.strings("exec_start_pre", u.exec_start_pre, false);
      r.strings("exec_start_pre_paths", u.exec_start_pre_paths, false);
      r.strings("exec_start_post", u.exec_start_post, false);
      r.strings("exec_start_post_paths", u.exec_start_post_paths, false);
      r.strings("exec_other", u.exec_other, false);
      r.strings("exec_other_paths", u.exec_other_paths, false);
      r.str("user", u.user, false);
      r.boolean("user_missing", u.user_missing, false);
      r.str("working_directory", u.working_directory, false);
      r.strings("load_credentials", u.load_credentials, false);
      r.strings("credentials_missing", u.credentials_missing, false);
      r.num("restart_ms", u.restart_ms, false);
      r.num("start_limit_interval_ms", u.start_limit_interval_ms, false);
      r.num("start_limit_burst", u.start_limit_burst, false);
      r.str("protect_system", u.protect_system, false);
      r.str("protect_home", u.protect_home, false);
      r.boolean("private_tmp", u.private_tmp, false);
      r.strings("read_write_paths", u.read_write_paths, false);
      if (u.exec_start_pre.size() != u.exec_start_pre_paths.size() ||
          u.exec_start_post.size() != u.exec_start_post_paths.size() ||
          u.exec_other.size() != u.exec_other_paths.size()) {
        if (why) *why = "unit fact: the Exec*= lines and their programs differ in number";
        return false;
      }
    }
    if (r.ok()) agg.set_unit_context(std::move(u));
  } else if (kind == "process") {
    std::uint32_t pid = 0;
    std::string cgroup;
    bool notify = false;
    std::optional<bool> notify_socket;
    r.num("pid", pid);
    r.str("cgroup", cgroup, false);
    if (r.field("notify_socket", false)) {
      r.boolean("notify_socket", notify);
      notify_socket = notify;
    }
    if (r.ok()) agg.set_process_start(pid, cgroup, notify_socket);
  } else if (kind == "running") {
    std::uint32_t pid = 0, ppid = 0;
    std::string comm;
    std::vector<std::string> argv;
    r.num("pid", pid);
    r.num("ppid", ppid);
    r.str("comm", comm, false);
    r.strings("argv", argv, false);
    if (r.ok()) agg.adopt_running(pid, ppid, comm, argv);
  } else if (kind == "unit_cgroup") {
    std::string unit;
    std::uint64_t id = 0;
    r.str("unit", unit);
    r.num("id", id);
    if (r.ok()) agg.add_unit_cgroup(id, unit);
  } else if (kind == "journal") {
    analysis::JournalLine l;
    r.num("ts_ns", l.ts_ns);
    r.str("unit", l.unit);
    r.num("pid", l.pid, false);
    r.boolean("by_manager", l.by_manager, false);
    r.str("message", l.message);
    if (r.ok()) agg.add_journal_line(std::move(l));
  } else if (kind == "wrapped") {
    std::uint32_t pid = 0;
    r.num("pid", pid);
    if (r.ok()) agg.set_wrapped_pid(pid);
  } else if (kind == "memory_limit") {
    std::uint32_t pid = 0;
    std::string limit;
    r.num("pid", pid);
    r.str("limit", limit);
    if (r.ok()) agg.set_memory_limit(pid, limit);
  } else if (kind == "database") {
    model::SockAddr a;
    std::string what;
    r.addr("addr", a);
    r.str("what", what, false);
    if (r.ok()) agg.add_database(a, what);
  } else if (kind == "env_file") {
    analysis::EnvFileInfo f;
    r.str("unit", f.unit, false);
    r.str("path", f.path);
    r.boolean("optional", f.optional, false);
    r.boolean("readable", f.readable, false);
    r.strings("keys", f.keys, false);
    if (const json* issues = r.field("issues", false)) {
      if (!issues->is_array()) r.fail("issues is not an array");
      for (std::size_t n = 0; r.ok() && n < issues->size(); ++n) {
        model::JsonFields ir((*issues)[n]);
        analysis::EnvFileInfo::Issue i;
        ir.num("line", i.line);
        ir.str("text", i.text, false);
        ir.str("key", i.key, false);
        ir.str("problem", i.problem, false);
        ir.str("corrected", i.corrected, false);
        if (!ir.ok()) r.fail("issue: " + ir.why());
        f.issues.push_back(std::move(i));
      }
    }
    if (r.ok()) agg.add_env_file(std::move(f));
  } else if (kind == "file" || kind == "path") {
    std::string path;
    r.str("path", path);
    std::optional<analysis::FileFacts> facts;
    if (const json* f = r.field("facts", false); f && !f->is_null()) {
      model::JsonFields fr(*f);
      facts = file_facts_from(fr);
      if (!fr.ok()) r.fail("facts: " + fr.why());
    }
    if (r.ok()) files_[{kind, path}] = facts;
  } else if (kind == "port_holders") {
    std::uint16_t port = 0;
    std::vector<analysis::PortHolder> list;
    r.num("port", port);
    if (const json* hs = r.field("holders", true)) {
      if (!hs->is_array()) r.fail("holders is not an array");
      for (std::size_t n = 0; r.ok() && n < hs->size() && n < 16; ++n) {
        model::JsonFields hr((*hs)[n]);
        analysis::PortHolder h;
        hr.num("pid", h.pid);
        hr.str("comm", h.comm, false);
        hr.strings("argv", h.argv, false);
        if (!hr.ok()) r.fail("holder: " + hr.why());
        list.push_back(std::move(h));
      }
    }
    if (r.ok()) ports_[port] = std::move(list);
  } else if (kind == "user" || kind == "group") {
    std::uint32_t id = 0;
    std::string name;
    r.num("id", id);
    r.str("name", name);
    if (r.ok()) names_[{kind, id}] = name;
  }
  if (!r.ok() && why) *why = "fact " + kind + ": " + r.why();
  return r.ok();
}

std::optional<analysis::FileFacts> FactStore::file(const std::string& kind, const std::string& path) {
  auto key = std::make_pair(kind, path);
  if (auto it = files_.find(key); it != files_.end()) return it->second;
  const auto& lookup = kind == "file" ? live_.file : live_.path;
  if (!lookup) return std::nullopt;
  auto facts = lookup(path);
  files_[key] = facts;
  if (record_) record_({{"kind", kind}, {"path", path}, {"facts", facts ? file_facts_json(*facts) : json(nullptr)}});
  return facts;
}

std::string FactStore::name(const std::string& kind, std::uint32_t id) {
  auto key = std::make_pair(kind, id);
  if (auto it = names_.find(key); it != names_.end()) return it->second;
  const auto& lookup = kind == "user" ? live_.users : live_.groups;
  if (!lookup) return "";
  auto n = lookup(id);
  names_[key] = n;
  if (record_) record_({{"kind", kind}, {"id", id}, {"name", n}});
  return n;
}

std::vector<analysis::PortHolder> FactStore::holders(std::uint16_t port) {
  if (auto it = ports_.find(port); it != ports_.end()) return it->second;
  if (!live_.ports) return {};
  auto list = live_.ports(port);
  ports_[port] = list;
  json hs = json::array();
  for (const auto& h : list) hs.push_back({{"pid", h.pid}, {"comm", h.comm}, {"argv", h.argv}});
  if (record_) record_({{"kind", "port_holders"}, {"port", port}, {"holders", hs}});
  return list;
}

void FactStore::install(analysis::Aggregator& agg, Lookups live, RecordFn record) {
  live_ = std::move(live);
  record_ = std::move(record);
  agg.set_file_lookup([this](const std::string& p) { return file("file", p); });
  agg.set_path_lookup([this](const std::string& p) { return file("path", p); });
  agg.set_name_lookups([this](std::uint32_t id) { return name("user", id); },
                       [this](std::uint32_t id) { return name("group", id); });
  agg.set_port_lookup([this](std::uint16_t port) { return holders(port); });
}

}  // namespace pm::record
