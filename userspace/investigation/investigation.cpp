#include <csignal>
#include "investigation/investigation.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <map>
#include <set>
#include <thread>

#include <sys/stat.h>

#include "analysis/checkpoints.h"
#include "analysis/service.h"
#include "investigation/preflight.h"
#include "model/clock.h"
#include "model/names.h"
#include "rules/finding.h"
#include "target/envfile.h"
#include "target/environ.h"
#include "target/host.h"
#include "target/journal.h"
#include "target/procfs.h"
#include "target/unit.h"
#include "target/unit_file.h"
#include "util/redact.h"
#include "util/strings.h"

namespace pm::investigation {
namespace {

constexpr std::size_t kTimelineKeep = 4000;

std::string ending(const model::Exit& x) {
  if (x.signal()) return "was killed by " + model::signal_name(x.signal());
  return "exited with code " + std::to_string(x.code());
}

std::string seconds(const analysis::Aggregator& agg, std::uint64_t ts) {
  return rules::seconds_text(rules::seconds_since_start(agg, ts)) + " after start";
}

// Findings whose every evidence event comes from helpers are context: a
// wrapper's grep that could not open a file does not fail the service.
bool only_helpers(const rules::Finding& f, const analysis::ServiceScope& scope) {
  if (f.evidence.empty()) return false;
  for (const auto& e : f.evidence)
    if (!scope.helpers.count(e.hdr.pid)) return false;
  return true;
}

}  // namespace

Investigation::Investigation(bool live, RecordFn record, bool read_starts)
    : live_(live), read_starts_(live && read_starts), record_(std::move(record)) {
  // File owners, user names: asked by the rules at report time, answered from
  // this machine (and recorded) when live, from the recording when not.
  record::Lookups lookups;
  if (live_)
    lookups = {target::host_file_lookup(), target::host_path_lookup(), target::host_user_name, target::host_group_name,
               target::host_port_holders};
  facts_.install(agg_, std::move(lookups), [this](const nlohmann::json& f) {
    if (record_) record_(f);
  });
}

bool Investigation::apply_fact(const nlohmann::json& fact, std::string* why) {
  if (!facts_.apply(fact, agg_, why)) return false;
  if (record_) record_(fact);
  return true;
}

void Investigation::load_unit(const std::string& unit) {
  if (!live_) {
    apply_fact(record::unit_fact(unit));
    return;
  }
  for (const auto& f : unit_facts(unit)) apply_fact(f);
}

void Investigation::set_wrapped(std::uint32_t pid) { apply_fact(record::wrapped_fact(pid)); }

void Investigation::read_process_start(std::uint32_t pid) {
  if (!read_starts_) return;
  for (const auto& f : process_start_facts(pid)) apply_fact(f);
  load_unit_from_process_root(pid);
}

void Investigation::load_unit_from_process_root(std::uint32_t pid) {
  const analysis::Process* p = agg_.process(pid);
  if (!p || !agg_.in_traced_unit(*p)) return;
  if (const auto* u = agg_.unit_context(p->unit); u && u->loaded) return;
  // A command that ran for a millisecond (an ExecStartPre=) may be gone by
  // now: its parent, the service manager that started it, has the same root.
  load_unit_under(p->unit, {pid, p->ppid});
}

void Investigation::load_unit_under(const std::string& unit, const std::vector<std::uint32_t>& candidates) {
  // Only where the process sees another root than pmtrace (a container).
  struct stat mine{}, theirs{};
  if (::stat("/", &mine) != 0) return;
  std::uint32_t holder = 0;
  for (std::uint32_t candidate : candidates)
    if (candidate != 0 && ::stat(("/proc/" + std::to_string(candidate) + "/root").c_str(), &theirs) == 0) {
      holder = candidate;
      break;
    }
  if (!holder || (mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino)) return;
  // Read through the oldest live process with that root (the container's
  // service manager): the service's own processes may be gone when the
  // files, owners and journal are read at the end.
  target::Procfs procfs;
  for (int hops = 0; hops < 64; ++hops) {
    auto info = procfs.read(holder);
    struct stat up{};
    if (!info || info->ppid <= 1 ||
        ::stat(("/proc/" + std::to_string(info->ppid) + "/root").c_str(), &up) != 0 ||
        up.st_dev != theirs.st_dev || up.st_ino != theirs.st_ino)
      break;
    holder = info->ppid;
  }
  const std::string root = "/proc/" + std::to_string(holder) + "/root";
  for (const auto& f : unit_facts(unit, root)) apply_fact(f);
  unit_root_ = root;
  // Files, owners and names as the service sees them: the container's.
  facts_.set_live({target::host_file_lookup(root), target::host_path_lookup(root), target::user_names_in(root),
                   target::group_names_in(root), target::host_port_holders});
}

void Investigation::read_journal(std::uint64_t end_ns, std::vector<std::string>& notes) {
  journal_read_ = true;
  if (agg_.units().empty()) return;
  // journald writes what the service manager sent it a moment later: a
  // capture that ended just now waits for it (watch's incidents, formed
  // later, do not).
  constexpr std::uint64_t kJournalLag = 300000000ull;
  std::uint64_t now = model::Clock::monotonic_ns();
  if (now < end_ns + kJournalLag) std::this_thread::sleep_for(std::chrono::nanoseconds(end_ns + kJournalLag - now));
  auto clock = model::Clock::now();
  std::uint64_t since_us = (clock.to_wall_ns(agg_.start_ns()) / 1000) - 1000000;
  for (const auto& unit : agg_.units()) {
    auto lines = target::journal_lines(unit, since_us, clock.offset_ns(), unit_root_);
    if (!lines) {
      notes.push_back("systemd's journal was not read for " + unit + ": " + lines.error().describe());
      continue;
    }
    for (const auto& l : *lines) apply_fact(record::journal_fact(l));
  }
}

void join_journal(const analysis::Aggregator& agg, std::vector<rules::Finding>& findings) {
  if (agg.journal().empty()) return;
  // What the service manager writes when each rule's failure happens.
  static const std::map<std::string, std::vector<std::string>> said = {
      {"start-timeout", {"start operation timed out", "Failed with result 'timeout'"}},
      {"exec-start-pre", {"Control process exited", "Failed with result 'exit-code'"}},
      {"pre-exec-status",
       {"Failed at step", "Failed to determine user credentials", "Failed to set up mount namespacing",
        "Main process exited, code=exited, status=2", "Failed with result 'exit-code'", "Failed to load credential",
        "Failed to set up credentials"}},
      {"exec-failure",
       {"Failed at step", "Failed to execute", "Changing to the requested working directory failed",
        "Failed to locate executable", "Main process exited, code=exited, status=20"}},
      {"restart-loop", {"Scheduled restart job", "Start request repeated too quickly", "Failed with result 'start-limit-hit'"}},
      {"environment-file",
       {"Ignoring invalid environment assignment", "Failed to load environment files", "Failed to run 'start' task"}},
      {"gunicorn-boot-failure", {"Main process exited, code=exited, status=3", "Main process exited, code=exited, status=4"}},
      {"killed-by-signal", {"Main process exited, code=killed", "State 'stop-sigterm' timed out", "Killing process"}},
      {"oom-kill", {"killed by the OOM killer", "Failed with result 'oom-kill'"}},
  };
  constexpr std::size_t kMaxLines = 6;
  for (auto& f : findings) {
    auto it = said.find(f.rule);
    if (it == said.end()) continue;
    // The finding's units: its evidence's processes'; else every traced unit.
    std::set<std::string> units;
    std::uint64_t from = f.ts_ns, to = f.ts_ns;
    for (const auto& e : f.evidence) {
      if (const auto* p = agg.process(e.hdr.pid); p && !p->unit.empty()) units.insert(p->unit);
      if (e.hdr.ts_ns) {
        from = from ? std::min(from, e.hdr.ts_ns) : e.hdr.ts_ns;
        to = std::max(to, e.hdr.ts_ns);
      }
    }
    if (units.empty()) units.insert(agg.units().begin(), agg.units().end());
    from = from > 2000000000ull ? from - 2000000000ull : 0;
    to += 5000000000ull;
    std::size_t n = 0;
    for (const auto& l : agg.journal()) {
      if (!l.by_manager || !units.count(l.unit) || l.ts_ns < from || l.ts_ns > to || n >= kMaxLines) continue;
      bool match = false;
      for (const auto& phrase : it->second) match |= l.message.find(phrase) != std::string::npos;
      if (!match) continue;
      f.facts.push_back("systemd said at +" + rules::seconds_text(rules::seconds_since_start(agg, l.ts_ns)) + ": " +
                        l.message);
      ++n;
    }
  }
}

void Investigation::seed(std::uint32_t pid) {
  agg_.table().seed(pid);
  if (live_)
    if (auto info = target::Procfs().read(pid)) {
      learn_secrets_from_argv(info->argv);
      apply_fact(record::running_fact(pid, info->ppid, info->comm, info->argv));
    }
  read_process_start(pid);
}

void Investigation::on_event(const model::Event& e) {
  if (const auto* x = e.as<model::Exec>()) {
    learn_secrets_from_argv(x->argv);
    read_process_start(e.hdr.pid);
  }
  agg_.on_event(e);
  if (!significant(e)) {
    ++folded_;
  } else if (timeline_.size() < kTimelineKeep) {
    timeline_.push_back(e);
  } else {
    ++dropped_;
  }
}

bool significant(const model::Event& e) {
  using model::EventType;
  switch (e.hdr.type) {
    case EventType::open_failed: {
      int err = e.as<model::OpenFailed>()->err;
      return err != ENOENT && err != ENOTDIR;
    }
    case EventType::connect: {
      const auto* c = e.as<model::Connect>();
      if (c->addr.family == 1 && c->addr.path.find("nscd") != std::string::npos) return false;  // name-service probe
      return c->err != 0;  // EINPROGRESS included: its answer follows
    }
    case EventType::tcp_connect:
      return !e.as<model::TcpConnect>()->established();
    case EventType::signal_generate: {
      const auto* s = e.as<model::SignalGenerate>();
      return s->sig != SIGCHLD && s->sig != 0;
    }
    case EventType::signal_deliver:
      return model::terminating_signal(e.as<model::SignalDeliver>()->sig);
    case EventType::fork:
    case EventType::milestone:
    case EventType::cgroup_adopt:
      return false;
    default:
      return true;
  }
}

Summary Investigation::summarize(std::uint64_t end_ns) {
  Summary s;
  s.end_ns = end_ns;
  agg_.set_end_ns(end_ns);
  auto scope = analysis::service_scope(agg_);
  s.service_basis = scope.basis;

  if (live_ && !journal_read_) read_journal(end_ns, s.notes);
  s.findings = rules::run_rules(agg_);
  if (scope.identified())
    for (auto& f : s.findings)
      if (f.severity == rules::Severity::failure && only_helpers(f, scope)) {
        f.severity = rules::Severity::info;
        f.title += " (a helper of the service, not the service)";
      }
  std::stable_sort(s.findings.begin(), s.findings.end(), [](const rules::Finding& a, const rules::Finding& b) {
    if (a.severity != b.severity) return a.severity < b.severity;
    if (a.rank != b.rank) return a.rank < b.rank;
    return a.ts_ns < b.ts_ns;
  });
  link_findings(s.findings);
  join_journal(agg_, s.findings);

  // A stop on purpose takes the service down with signals: the master, the
  // workers still booting (no handler yet), a SIGKILL after the stop timeout.
  // Those deaths are the stop's, not failures.
  std::uint64_t stopped_at = 0;
  for (const auto& f : s.findings)
    if (f.rule == "killed-by-signal" && f.severity == rules::Severity::info && (!stopped_at || f.ts_ns < stopped_at))
      stopped_at = f.ts_ns;
  // A worker its own gunicorn master ended gracefully (SIGTERM, SIGQUIT,
  // SIGINT: a reload rotating workers, a halt after another worker's failure)
  // did not fail by itself; the master's own end and the findings say why.
  auto ended_by_master = [&](const analysis::ProcessEnd& f) {
    int sig = f.exit.signal();
    if (sig != SIGTERM && sig != SIGQUIT && sig != SIGINT) return false;
    const analysis::Process* p = agg_.process(f.pid);
    const analysis::Process* master = p ? agg_.gunicorn_master_of(f.pid) : nullptr;
    if (!master || master->pid == f.pid) return false;
    for (const auto& g : agg_.signals())
      if (g.hdr.pid == master->pid && g.hdr.ts_ns <= f.ts_ns && g.as<model::SignalGenerate>()->target_pid == f.pid &&
          g.as<model::SignalGenerate>()->sig == sig)
        return true;
    return false;
  };
  for (const auto& f : agg_.table().failures()) {
    bool part_of_stop = (stopped_at && f.ts_ns >= stopped_at && f.exit.signal() && model::terminating_signal(f.exit.signal())) ||
                        ended_by_master(f);
    if (scope.is_service(f.pid) && !part_of_stop) s.failures.push_back(f);
    else if (!part_of_stop) s.helper_failures.push_back(f);
  }

  // The wrapped command's own status, when it is not the service.
  if (auto w = agg_.wrapped_pid()) {
    s.wrapped.present = true;
    s.wrapped.pid = w;
    s.wrapped.is_service = scope.is_service(w);
    if (const auto* p = agg_.process(w)) {
      s.wrapped.command = join(p->argv, " ");
      if (p->exit) {
        s.wrapped.exit = p->exit;
        s.wrapped.exit_ns = p->exit_ns;
      }
    }
  }

  bool failure_found = false;
  for (const auto& f : s.findings) failure_found |= f.severity == rules::Severity::failure;

  // What the user asked about was seen at all: a unit named but none of its
  // processes traced is not a healthy unit.
  bool any = !agg_.processes().empty() || agg_.table().seen_count() != 0;
  bool unit_seen = agg_.units().empty(), cgroups_known = false;
  for (const auto& [pid, p] : agg_.processes()) {
    cgroups_known |= !p.cgroup_path.empty() || !p.unit.empty();
    if (agg_.in_traced_unit(p)) unit_seen = true;
  }
  // A capture without any process's cgroup (an older recording) cannot say.
  if (!cgroups_known) unit_seen = true;

  // A failure a rule explained is one whatever else was seen (a unit whose
  // start failed before its process reached the unit's cgroup).
  bool seen = any && unit_seen && !scope.service.empty();
  if (failure_found || (seen && !s.failures.empty())) {
    s.verdict = Verdict::failed;
    s.exit_status = kExitFailureFound;
    const rules::Finding* root = nullptr;
    for (const auto& f : s.findings)
      if (f.severity == rules::Severity::failure) {
        root = &f;
        break;
      }
    if (root) s.verdict_text = "the service failed: " + root->title;
    else
      s.verdict_text = "the service failed: pid " + std::to_string(s.failures.front().pid) + " (" + s.failures.front().comm +
                       ") " + ending(s.failures.front().exit);
  } else if (!seen) {
    s.verdict = Verdict::not_seen;
    std::string what = agg_.units().empty() ? std::string("the service") : "unit " + agg_.units().front();
    s.verdict_text = "no process of " + what + " was seen: pmtrace cannot say whether it is healthy";
    // Not a healthy service: what pmtrace could not see.
    s.exit_status = kExitCannotTrace;
    // What ran was not the service: its exits are the command's, not the service's.
    s.helper_failures.insert(s.helper_failures.end(), s.failures.begin(), s.failures.end());
    s.failures.clear();
    if (s.wrapped.exit && s.wrapped.exit->failed()) s.verdict_text += "; the command " + ending(*s.wrapped.exit);
  } else {
    const rules::Finding* stop = nullptr;
    for (const auto& f : s.findings)
      if (f.rule == "killed-by-signal" && f.severity == rules::Severity::info) {
        stop = &f;
        break;
      }
    std::uint64_t up = analysis::up_since(agg_, scope);
    bool alive = false;
    for (auto pid : scope.service) alive |= agg_.table().live(pid);
    std::string up_text = up ? "up since " + seconds(agg_, up) : "no failure seen";
    if (auto serving = analysis::serving_since(agg_, scope)) up_text = "serving since " + seconds(agg_, serving);
    if (stop) {
      s.verdict = Verdict::stopped;
      s.verdict_text = "the service was healthy (" + up_text + ") and was stopped on purpose: " + stop->title;
    } else if (alive) {
      s.verdict = Verdict::healthy;
      s.verdict_text = "the service is healthy (" + up_text + ")";
    } else {
      s.verdict = Verdict::exited;
      s.verdict_text = "the service ended by itself without a failure";
    }
  }

  s.checkpoints = analysis::infer_checkpoints(agg_, s.verdict == Verdict::failed);
  for (const auto& f : s.findings)
    if (f.severity != rules::Severity::info)
      for (auto& c : preflight_checks(f))
        if (std::find(s.preflight_checks.begin(), s.preflight_checks.end(), c) == s.preflight_checks.end())
          s.preflight_checks.push_back(std::move(c));
  if (!agg_.units().empty()) s.unit = agg_.units().front();
  else if (const auto* m = agg_.process(scope.main_pid)) s.unit = m->unit;

  // The short timeline: the service's own events, and what helpers did to it.
  for (const auto& e : timeline_) {
    bool helper = scope.identified() && scope.helpers.count(e.hdr.pid);
    if (helper) {
      const auto* g = e.as<model::SignalGenerate>();
      if (!g || !scope.is_service(g->target_pid)) {
        ++s.folded;
        continue;
      }
    }
    s.timeline.push_back(e);
  }
  s.folded += folded_;
  s.timeline_complete = dropped_ == 0;
  return s;
}

void link_findings(std::vector<rules::Finding>& findings) {
  auto index_of = [&](const std::string& rule) -> int {
    for (std::size_t i = 0; i < findings.size(); ++i)
      if (findings[i].rule == rule && findings[i].severity != rules::Severity::info) return static_cast<int>(i);
    return -1;
  };
  // Which rule's finding follows from which: the cause comes first.
  static const std::vector<std::pair<const char*, const char*>> edges = {
      {"database-connect", "start-timeout"},        {"database-connect", "worker-timeout"},
      {"database-connect", "gunicorn-boot-failure"}, {"missing-python-module", "gunicorn-boot-failure"},
      {"permission-denied", "gunicorn-boot-failure"}, {"environment-file", "gunicorn-boot-failure"},
      {"environment-file", "database-connect"},     {"exec-failure", "killed-by-signal"},
      // A unit restarted until its start limit: the first start's failure.
      {"gunicorn-boot-failure", "restart-loop"},    {"missing-python-module", "restart-loop"},
      {"pre-exec-status", "restart-loop"},          {"exec-failure", "restart-loop"},
      {"exec-start-pre", "restart-loop"},           {"permission-denied", "restart-loop"},
      {"database-connect", "restart-loop"},         {"environment-file", "restart-loop"},
      {"address-in-use", "restart-loop"},           {"killed-by-signal", "restart-loop"},
  };
  std::map<int, std::vector<int>> causes_of;
  for (const auto& [cause, effect] : edges) {
    int c = index_of(cause), e = index_of(effect);
    if (c < 0 || e < 0) continue;
    // A start timeout follows from a database only when it was waiting on one.
    if (std::string(effect) == "start-timeout") {
      bool waited = false;
      for (const auto& ev : findings[e].evidence) waited |= ev.as<model::Connect>() != nullptr;
      if (!waited) continue;
    }
    causes_of[e].push_back(c);
  }
  // Report order: every finding after its causes, otherwise as ranked.
  std::vector<int> order;
  std::set<int> placed;
  std::function<void(int, int)> place = [&](int i, int depth) {
    if (placed.count(i) || depth > 8) return;
    for (int c : causes_of[i]) place(c, depth + 1);
    if (placed.insert(i).second) order.push_back(i);
  };
  for (int i = 0; i < static_cast<int>(findings.size()); ++i) place(i, 0);
  std::vector<rules::Finding> sorted;
  std::map<int, std::string> id;
  for (std::size_t n = 0; n < order.size(); ++n) id[order[n]] = "F" + std::to_string(n + 1);
  for (int i : order) {
    rules::Finding f = std::move(findings[i]);
    f.id = id[i];
    for (int c : causes_of[i]) f.caused_by.push_back(id[c]);
    for (const auto& [e, cs] : causes_of)
      if (std::find(cs.begin(), cs.end(), i) != cs.end()) f.causes.push_back(id[e]);
    std::sort(f.causes.begin(), f.causes.end());
    sorted.push_back(std::move(f));
  }
  findings = std::move(sorted);
}

std::vector<nlohmann::json> process_start_facts(std::uint32_t pid) {
  std::vector<nlohmann::json> facts;
  std::optional<bool> notify;
  if (auto env = read_file("/proc/" + std::to_string(pid) + "/environ")) {
    learn_secrets_from_environ(*env);
    for (const auto& d : target::databases_from_environ(*env)) facts.push_back(record::database_fact(d.addr, d.what));
    notify = starts_with(*env, "NOTIFY_SOCKET=") || env->find(std::string("\0NOTIFY_SOCKET=", 15)) != std::string::npos;
  }
  if (auto limit = target::host_memory_limit(pid)) facts.push_back(record::memory_limit_fact(pid, *limit));
  auto cgroup = target::Procfs().cgroup_of(pid);
  if (cgroup || notify) facts.push_back(record::process_fact(pid, cgroup.value_or(""), notify));
  return facts;
}

std::vector<nlohmann::json> unit_facts(const std::string& unit, const std::string& root) {
  std::vector<nlohmann::json> facts;
  analysis::UnitContext ctx;
  ctx.name = target::normalize_unit_name(unit);
  std::vector<target::EnvFileRead> env_files;
  // As systemd loads it: the unit file and its drop-ins, specifiers expanded.
  auto u = root.empty() ? target::load_unit_as_loaded(unit, target::UnitEnv::from_system())
                        : target::load_unit_file(unit, target::UnitEnv::of_root(root));
  if (u) {
    ctx.name = u->name;
    ctx.loaded = true;
    auto value = [&](const char* key, const std::string& def) {
      const auto* s = u->last("Service", key);
      return s && !s->value.empty() ? s->value : def;
    };
    auto defaults = target::read_manager_defaults(root);
    ctx.type = value("Type", "simple");
    long long t = defaults.timeout_start_ms;
    std::string ts = value("TimeoutStartSec", value("TimeoutSec", ""));
    if (!ts.empty()) t = target::parse_timespan_ms(ts).value_or(t);
    if (t == 0) t = LLONG_MAX;  // 0 turns the start timeout off
    // Type=oneshot has no start timeout unless one is set.
    if (ctx.type == "oneshot" && ts.empty()) t = LLONG_MAX;
    ctx.timeout_start_ms = t;
    bool notify = ctx.type == "notify" || ctx.type == "notify-reload";
    ctx.notify_access = value("NotifyAccess", notify ? "main" : "none");
    ctx.restart = value("Restart", "no");
    if (const auto* s = u->last("Service", "ExecStart"); s && !s->value.empty())
      if (auto cmd = target::parse_exec(s->value, u->name)) {
        ctx.exec_start = cmd->argv;
        struct stat st{};
        ctx.exec_start_missing = !cmd->path.empty() && cmd->path[0] == '/' && ::stat((root + cmd->path).c_str(), &st) != 0;
      }
    auto commands = [&](const char* key, std::vector<std::string>& lines, std::vector<std::string>& paths) {
      for (const auto* s : u->list("Service", key)) {
        if (s->value.empty()) {  // an empty assignment resets the list
          lines.clear();
          paths.clear();
          continue;
        }
        auto cmd = target::parse_exec(s->value, u->name);
        if (!cmd) continue;
        lines.push_back((cmd->ignore_failure ? "-" : "") + join(cmd->argv, " "));
        paths.push_back(cmd->path);
      }
    };
    commands("ExecStartPre", ctx.exec_start_pre, ctx.exec_start_pre_paths);
    commands("ExecStartPost", ctx.exec_start_post, ctx.exec_start_post_paths);
    for (const char* key : {"ExecReload", "ExecStop", "ExecStopPost"}) {
      std::vector<std::string> lines, paths;
      commands(key, lines, paths);
      ctx.exec_other.insert(ctx.exec_other.end(), lines.begin(), lines.end());
      ctx.exec_other_paths.insert(ctx.exec_other_paths.end(), paths.begin(), paths.end());
    }
    ctx.user = value("User", "");
    ctx.user_missing = !ctx.user.empty() && value("DynamicUser", "no") != "yes" && !target::user_exists_in(root, ctx.user);
    ctx.working_directory = value("WorkingDirectory", "");
    for (const char* key : {"LoadCredential", "LoadCredentialEncrypted"})
      for (const auto* s : u->list("Service", key)) {
        if (s->value.empty()) {  // an empty assignment resets the list
          ctx.load_credentials.clear();
          ctx.credentials_missing.clear();
          continue;
        }
        auto expanded = target::expand_specifiers(s->value, u->name);
        std::string cred = expanded ? *expanded : s->value;
        ctx.load_credentials.push_back(cred);
        auto colon = cred.find(':');
        std::string path = colon == std::string::npos ? "" : cred.substr(colon + 1);
        struct stat st{};
        if (starts_with(path, "/") && ::stat((root + path).c_str(), &st) != 0) ctx.credentials_missing.push_back(path);
      }
    auto span = [&](const char* section, const char* key, long long def) {
      const auto* s = u->last(section, key);
      return s && !s->value.empty() ? target::parse_timespan_ms(s->value).value_or(def) : def;
    };
    ctx.restart_ms = span("Service", "RestartSec", defaults.restart_ms);
    ctx.start_limit_interval_ms =
        span("Unit", "StartLimitIntervalSec", span("Unit", "StartLimitInterval", defaults.start_limit_interval_ms));
    if (const auto* s = u->last("Unit", "StartLimitBurst"); s && parse_int(s->value))
      ctx.start_limit_burst = *parse_int(s->value);
    else
      ctx.start_limit_burst = defaults.start_limit_burst;
    auto sandbox = target::sandbox_of(*u);
    ctx.protect_system = sandbox.protect_system;
    ctx.protect_home = sandbox.protect_home;
    ctx.private_tmp = sandbox.private_tmp;
    ctx.read_write_paths = sandbox.writable;
    env_files = target::read_environment_files(*u, value("User", "root"), root);
  }
  facts.push_back(record::unit_fact(ctx));
  for (const auto& f : env_files) {
    analysis::EnvFileInfo info;
    info.unit = ctx.name;
    info.optional = f.optional;
    info.path = f.path;
    info.readable = f.readable;
    for (const auto& v : f.parsed.vars) {
      info.keys.push_back(v.key);
      learn_secrets_from_argv({v.key + "=" + v.value});
    }
    for (const auto& i : f.parsed.issues) info.issues.push_back({i.line, i.text, i.key, i.problem, i.corrected});
    facts.push_back(record::env_file_fact(info));
  }
  return facts;
}

}  // namespace pm::investigation
