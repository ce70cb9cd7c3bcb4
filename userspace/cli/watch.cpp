// pmtrace watch [TARGET...]: left running on a production box; when a watched
// service crashes, restarts in a loop or gets killed, the explanation is
// written down as an incident. See docs/watch.md.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/session.h"
#include "model/clock.h"
#include "model/event_json.h"
#include "investigation/investigation.h"
#include "record/facts.h"
#include "record/recording.h"
#include "report/sink.h"
#include "target/cgroup.h"
#include "target/host.h"
#include "target/procfs.h"
#include "target/unit.h"
#include "util/redact.h"
#include "util/strings.h"
#include "watch/config.h"
#include "watch/metrics.h"
#include "watch/services.h"

namespace pm::cli {
namespace {

using nlohmann::json;

constexpr std::uint64_t kRepeatEveryNs = 30000000000ull;  // a repeat line at most this often
constexpr std::size_t kFactsPerService = 64;

// An incident already written, and how often the same crash came back.
struct Incident {
  int id = 0;
  std::string service;
  std::uint64_t count = 1, written_count = 1;
  std::uint64_t last_ns = 0, last_written_ns = 0;
  unsigned restarts = 0;
};

// The same crash: the same service and first finding (numbers aside: pids,
// times and ports change from one start to the next).
std::string signature(const std::string& service, const report::Summary& s, const watch::Trigger& t) {
  std::string what = s.findings.empty() ? t.kind : s.findings.front().rule + " " + s.findings.front().title;
  std::string norm;
  for (char c : what) norm += (c >= '0' && c <= '9') ? '#' : c;
  return service + "\n" + norm;
}

Result<void> make_private_dir(const std::string& dir, mode_t mode) {
  std::string path;
  for (const auto& part : split(dir, '/')) {
    path += "/" + part;
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return cannot_trace_errno("cannot create " + path);
  }
  return {};
}

// An incident as journal fields (`journalctl -u pmtrace-watch -o json`,
// `journalctl PMTRACE_INCIDENT_ID=3`): the text report as MESSAGE, the rest
// as fields a collector can select on. OBJECT_SYSTEMD_UNIT= puts it in the
// watched unit's own `journalctl -u UNIT` too (journalctl shows root's
// messages about a unit there). Every value redacted.
struct IncidentEntry {
  int id = 0;
  std::string service, unit, verdict, trigger, rules, root_cause, fix, recording;
};

// One message id for every incident: `journalctl MESSAGE_ID=...`.
constexpr const char* kIncidentMessageId = "0ab5335eddfb436fa22904c269f6d66c";

void send_to_journal(const IncidentEntry& e, const std::string& report) {
  std::vector<std::string> fields{"MESSAGE=" + report,
                                  std::string("MESSAGE_ID=") + kIncidentMessageId,
                                  "PRIORITY=3",
                                  "SYSLOG_IDENTIFIER=pmtrace",
                                  "PMTRACE_INCIDENT_ID=" + std::to_string(e.id),
                                  "PMTRACE_SERVICE=" + redact(e.service),
                                  "PMTRACE_VERDICT=" + e.verdict,
                                  "PMTRACE_TRIGGER=" + redact(e.trigger),
                                  "PMTRACE_RULES=" + e.rules,
                                  "PMTRACE_ROOT_CAUSE=" + redact(e.root_cause),
                                  "PMTRACE_FIX=" + redact(e.fix),
                                  "PMTRACE_SCHEMA=" + std::to_string(investigation::kJsonSchema)};
  if (!e.unit.empty()) {
    fields.push_back("PMTRACE_UNIT=" + e.unit);
    fields.push_back("OBJECT_SYSTEMD_UNIT=" + e.unit);
  }
  if (!e.recording.empty()) fields.push_back("PMTRACE_RECORDING=" + e.recording);
  std::vector<iovec> iov;
  for (auto& f : fields) iov.push_back({f.data(), f.size()});
  if (int r = sd_journal_sendv(iov.data(), static_cast<int>(iov.size())); r < 0)
    spdlog::warn("cannot write incident {} to the journal: {}", e.id, std::strerror(-r));
}

class Watcher {
 public:
  Watcher(const watch::Config& cfg, watch::Limits limits, sources::BpfSource& src, model::Clock clock)
      : cfg_(cfg), tracker_(limits), src_(src), clock_(clock), settle_ns_(limits.settle_ns) {}

  watch::ServiceTracker& tracker() { return tracker_; }
  // --record FILE: every event, continuously (incident windows go to --record-dir).
  void record_all(std::unique_ptr<record::Writer> w) { all_ = std::move(w); }
  void finish_recording(std::uint64_t end_ns);
  Result<void> open_outputs();
  void on_event(model::Event&& e);
  void tick(std::uint64_t now_ns, bool final);
  void write_metrics();
  const watch::Metrics& metrics() const { return metrics_; }
  void set_watching(std::string what) { watching_ = std::move(what); }  // for STATUS=

 private:
  void read_process_start(const model::Event& e, watch::Service* s);
  void explain(watch::Service& s, const watch::Trigger& t);
  void write_line(const json& j);
  void write_repeats(std::uint64_t now_ns, bool final);

  const watch::Config& cfg_;
  watch::ServiceTracker tracker_;
  sources::BpfSource& src_;
  model::Clock clock_;
  std::uint64_t settle_ns_;
  int incidents_fd_ = -1;
  watch::Metrics metrics_;
  std::map<std::string, std::vector<json>> facts_;  // per service: databases, memory limits
  std::map<std::string, std::deque<json>> process_facts_;  // per service: the cgroup of its latest processes
  std::map<std::string, Incident> incidents_;       // by signature
  int next_id_ = 1;
  std::uint64_t last_metrics_ns_ = 0;
  bool journal_ = ::access("/run/systemd/journal/socket", W_OK) == 0;
  std::unique_ptr<record::Writer> all_;
  std::string watching_;
};

void Watcher::finish_recording(std::uint64_t end_ns) {
  if (!all_) return;
  auto done = all_->finish({end_ns, metrics_.events, "watch stopped", src_.losses(), {}});
  if (!done) spdlog::warn("{}", done.error().describe());
}

Result<void> Watcher::open_outputs() {
  auto slash = cfg_.incidents.rfind('/');
  if (slash != std::string::npos && slash > 0)
    if (auto r = make_private_dir(cfg_.incidents.substr(0, slash), 0750); !r) return r;
  // Incidents name users, paths and commands: not world-readable.
  incidents_fd_ = ::open(cfg_.incidents.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (incidents_fd_ < 0) return cannot_trace_errno("cannot open the incidents file " + cfg_.incidents);
  if (!cfg_.record_dir.empty())
    if (auto r = make_private_dir(cfg_.record_dir, 0700); !r) return r;
  return {};
}

void Watcher::read_process_start(const model::Event& e, watch::Service* s) {
  const auto* x = e.as<model::Exec>();
  if (!x || !s) return;  // only a service's events are ever written
  learn_secrets_from_argv(x->argv);
  auto& facts = facts_[s->key];
  auto& procs = process_facts_[s->key];
  for (auto& f : investigation::process_start_facts(e.hdr.pid)) {
    if (f.value("kind", "") == "process") {
      // Where each process lives: one per exec, the latest kept.
      procs.push_back(std::move(f));
      if (procs.size() > kFactsPerService) procs.pop_front();
    } else if (facts.size() < kFactsPerService && std::find(facts.begin(), facts.end(), f) == facts.end()) {
      facts.push_back(std::move(f));
    }
  }
}

void Watcher::on_event(model::Event&& e) {
  ++metrics_.events;
  watch::Service* s = nullptr;
  // Windows hold events as captured; everything written from them is
  // redacted then, with the secrets learned here at each exec.
  s = tracker_.on_event(e);
  read_process_start(e, s);
  for (const auto& key : tracker_.take_new_services()) spdlog::info("watching {}", redact(key));
  if (all_) all_->event(e);
}

void Watcher::write_line(const json& in) {
  json j = in;
  j["schema"] = investigation::kJsonSchema;  // every line of the incidents file
  redact_json(j);
  std::string line = model::dump_line(j) + "\n";
  if (incidents_fd_ < 0 || ::write(incidents_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    spdlog::error("cannot append to the incidents file {}: {}", cfg_.incidents, std::strerror(errno));
}

void Watcher::explain(watch::Service& s, const watch::Trigger& t) {
  // The window up to the settle time, but not into the next start of the
  // service (a supervisor restarting it at once): that run is the next one's.
  std::uint64_t until = t.ts_ns + settle_ns_;
  for (auto start : s.starts)
    if (start > t.ts_ns && start <= until) until = start - 1;
  auto events = s.window.take_until(until);
  std::uint64_t dropped = s.window.dropped();

  std::unique_ptr<record::Writer> rec;
  std::string rec_path;
  int id = next_id_;
  if (!cfg_.record_dir.empty()) {
    rec_path = cfg_.record_dir + "/incident-" + std::to_string(id) + ".pmt";
    auto w = record::Writer::create(rec_path);
    if (w) rec = std::move(*w);
    else spdlog::warn("{}", w.error().describe());
  }
  report::RunInfo info;
  info.mode = "watch";
  info.target = s.key;
  info.backend = "bpf";
  info.clock = clock_;
  info.start_ns = events.empty() ? t.ts_ns : events.front().hdr.ts_ns;
  if (rec) rec->header(recording_header(info));
  // The same investigation as run and attach: the unit's settings and
  // environment files read now, the facts read while the service ran.
  // What each process was started with was read at its exec (the window is
  // replayed here, its processes may be gone).
  investigation::Investigation inv(true, [&](const json& f) { if (rec) rec->fact(f); }, false);
  if (!s.unit.empty()) inv.load_unit(s.unit);
  for (const auto& f : facts_[s.key]) inv.apply_fact(f);
  for (const auto& f : process_facts_[s.key]) inv.apply_fact(f);
  std::ostringstream text;
  report::TextSink sink(text, false);
  sink.begin(info);
  for (const auto& e : events) {
    inv.on_event(e);
    if (rec) rec->event(e);
  }
  report::Summary sum = inv.summarize(until);
  sum.events = events.size();
  sum.end_reason = "incident: " + t.what;
  sum.losses = src_.losses();
  if (dropped) sum.notes.push_back(std::to_string(dropped) + " older events of this service were dropped from its window");

  bool only_info = !sum.findings.empty();
  for (const auto& f : sum.findings) only_info &= f.severity == rules::Severity::info;
  if (only_info || sum.verdict == investigation::Verdict::stopped) {
    // A deliberate stop (an operator, systemctl stop): said, not an incident.
    spdlog::info("{}: {} ({}): not an incident", redact(s.key), t.what, sum.findings.front().title);
    if (rec) (void)rec->finish({until, sum.events, sum.end_reason, sum.losses, sum.notes});
    if (!rec_path.empty()) ::unlink(rec_path.c_str());
    return;
  }

  unsigned restarts = s.recent_starts(until, 3600000000000ull);
  restarts = restarts ? restarts - 1 : 0;
  std::string sig = signature(s.key, sum, t);
  auto it = incidents_.find(sig);
  std::string rule = sum.findings.empty() ? t.kind : sum.findings.front().rule;
  if (it != incidents_.end()) {
    // The same crash again (a restart loop): one incident with a count.
    ++it->second.count;
    it->second.last_ns = until;
    it->second.restarts = restarts;
    if (rec) (void)rec->finish({until, sum.events, sum.end_reason, sum.losses, sum.notes});
    if (!rec_path.empty()) ::unlink(rec_path.c_str());
    spdlog::info("{}: {} again (incident {}, {} times)", redact(s.key), t.what, it->second.id, it->second.count);
    return;
  }
  ++next_id_;
  sink.end(sum);
  if (rec) {
    auto done = rec->finish({until, sum.events, sum.end_reason, sum.losses, sum.notes});
    if (!done) spdlog::warn("{}", done.error().describe());
  }
  Incident inc;
  inc.id = id;
  inc.service = s.key;
  inc.last_ns = inc.last_written_ns = until;
  inc.restarts = restarts;
  incidents_.emplace(sig, inc);
  ++metrics_.incidents[{s.key, rule}];

  json findings = json::array();
  for (const auto& f : sum.findings)
    findings.push_back({{"rule", f.rule},
                        {"severity", rules::severity_name(f.severity)},
                        {"title", f.title},
                        {"facts", f.facts},
                        {"explanation", f.explanation},
                        {"fix", f.fix}});
  // The opens the kernel counted instead of sending (import probing), by process.
  json enoent = json::object();
  for (const auto& e : events)
    if (e.as<model::Exec>() || e.as<model::Exit>())
      if (auto n = src_.enoent_count(e.hdr.pid)) enoent[std::to_string(e.hdr.pid)] = n;
  const auto* last = sum.checkpoints.last_reached();
  const auto* failed = sum.checkpoints.failed();
  std::string unit = s.unit.empty() ? sum.unit : s.unit;
  write_line({{"type", "incident"},
              {"id", id},
              {"time", clock_.to_iso8601(t.ts_ns)},
              {"service", s.key},
              {"unit", unit.empty() ? json(nullptr) : json(unit)},
              {"verdict", investigation::verdict_name(sum.verdict)},
              {"trigger", {{"kind", t.kind}, {"what", t.what}}},
              {"findings", findings},
              {"last_checkpoint", last ? json(last->name) : json(nullptr)},
              {"failed_checkpoint", failed ? json(failed->name) : json(nullptr)},
              {"count", 1},
              {"restarts", restarts},
              {"window", {{"events", sum.events}, {"dropped", dropped}}},
              {"enoent_opens_counted", enoent},
              {"recording", rec_path.empty() ? json(nullptr) : json(rec_path)}});

  std::string report = text.str();
  if (journal_) {
    std::vector<std::string> rules;
    for (const auto& f : sum.findings) rules.push_back(f.rule);
    IncidentEntry entry;
    entry.id = id;
    entry.service = s.key;
    entry.unit = unit;
    entry.verdict = investigation::verdict_name(sum.verdict);
    entry.trigger = t.what;
    entry.rules = join(rules, ",");
    if (!sum.findings.empty()) {
      entry.root_cause = sum.findings.front().title;
      entry.fix = sum.findings.front().fix;
    }
    entry.recording = rec_path;
    send_to_journal(entry, report);
  } else {
    std::fprintf(stderr, "pmtrace: incident %d: %s\n%s\n", id, redact(s.key).c_str(), report.c_str());
  }
  // systemctl status pmtrace-watch: what it watches and what it found last.
  sd_notifyf(0, "STATUS=watching %s; %d incident%s, the latest %s: %s", watching_.c_str(), id, id == 1 ? "" : "s",
             redact(unit.empty() ? s.key : unit).c_str(), rule.c_str());
}

void Watcher::write_repeats(std::uint64_t now_ns, bool final) {
  for (auto& [sig, inc] : incidents_) {
    if (inc.count == inc.written_count) continue;
    if (!final && now_ns < inc.last_written_ns + kRepeatEveryNs) continue;
    write_line({{"type", "repeat"},
                {"id", inc.id},
                {"service", inc.service},
                {"count", inc.count},
                {"restarts", inc.restarts},
                {"last_time", clock_.to_iso8601(inc.last_ns)}});
    inc.written_count = inc.count;
    inc.last_written_ns = now_ns;
  }
}

void Watcher::tick(std::uint64_t now_ns, bool final) {
  if (all_) {
    all_->losses(src_.losses());
    all_->maybe_flush(now_ns);
  }
  for (auto& [s, t] : tracker_.due(final ? ~0ull / 2 : now_ns)) explain(*s, t);
  write_repeats(now_ns, final);
  auto interval = parse_duration_ms(cfg_.metrics_interval).value_or(15000);
  if (final || now_ns - last_metrics_ns_ >= static_cast<std::uint64_t>(interval) * 1000000ull) {
    last_metrics_ns_ = now_ns;
    write_metrics();
  }
}

void Watcher::write_metrics() {
  auto l = src_.losses();
  metrics_.lost = l.total();
  metrics_.enoent_counted = src_.enoent_counted();
  metrics_.window_dropped = tracker_.dropped();
  metrics_.services = tracker_.services().size();
  metrics_.untracked_services = tracker_.untracked_services();
  for (const auto& [key, s] : tracker_.services()) metrics_.restarts[key] = s->starts_total ? s->starts_total - 1 : 0;
  metrics_.sample_self();
  if (cfg_.metrics.empty()) return;
  if (auto r = watch::write_textfile(cfg_.metrics, metrics_.render()); !r) spdlog::warn("{}", r.error().describe());
}

}  // namespace

int cmd_watch(const WatchOptions& opts) {
  watch::Config cfg;
  bool explicit_config = !opts.config.empty();
  std::string config_path = explicit_config ? opts.config : "/etc/pmtrace/watch.toml";
  if (auto r = watch::load_config(config_path, cfg, !explicit_config); !r) return report_error(r.error());
  if (!opts.incidents.empty()) cfg.incidents = opts.incidents;
  if (!opts.metrics.empty()) cfg.metrics = opts.metrics;
  if (!opts.record_dir.empty()) cfg.record_dir = opts.record_dir;
  if (!opts.window.empty()) cfg.window = opts.window;
  if (opts.restart_limit) cfg.restart_limit = opts.restart_limit;
  if (!opts.restart_window.empty()) cfg.restart_window = opts.restart_window;
  if (!opts.settle.empty()) cfg.settle = opts.settle;
  for (const auto& t : opts.targets) {
    auto scope = unit_scope(t);
    if (target::has_unit_suffix(t) || (scope && !scope->name_only)) cfg.units.push_back(t);
    else cfg.names.push_back(t);
  }
  if (cfg.units.empty() && cfg.names.empty()) cfg.names.push_back("gunicorn");

  watch::Limits limits;
  auto window = parse_size_bytes(cfg.window);
  auto restart_ms = parse_duration_ms(cfg.restart_window);
  auto settle_ms = parse_duration_ms(cfg.settle);
  if (!window || *window < 64 * 1024) return report_error(make_error("window must be a size of at least 64K, e.g. 4M"));
  if (!restart_ms || *restart_ms <= 0 || !settle_ms || *settle_ms < 0 ||
      !parse_duration_ms(cfg.metrics_interval))
    return report_error(make_error("restart_window, settle and metrics_interval take durations such as 60s or 500ms"));
  std::optional<long long> duration_ms;
  if (!opts.duration.empty() && !(duration_ms = parse_duration_ms(opts.duration)))
    return report_error(make_error("--duration takes a duration such as 30s"));
  limits.window_bytes = *window;
  limits.restart_limit = cfg.restart_limit;
  limits.restart_window_ns = static_cast<std::uint64_t>(*restart_ms) * 1000000ull;
  limits.settle_ns = static_cast<std::uint64_t>(*settle_ms) * 1000000ull;

  if (opts.common.no_redact) {
    set_redaction(false);
    spdlog::warn("--no-redact: incidents hold secrets in clear; for local debugging only");
  }

  sources::BpfConfig bcfg;
  bcfg.count_enoent = true;
  std::vector<UnitScope> units;
  for (const auto& u : cfg.units) {
    auto scope = unit_scope(u);
    if (!scope) return report_error(scope.error());
    if (scope->name_only) return report_error(make_error(scope->why_unknown));
    if (auto r = add_unit_to_scope(*scope, bcfg); !r) return report_error(r.error());
    units.push_back(*scope);
  }
  target::Procfs procfs;
  std::vector<target::ProcInfo> existing;
  for (const auto& n : cfg.names) {
    bcfg.comms.push_back(n);
    for (auto pid : procfs.by_name(n))
      for (auto p : procfs.tree(pid)) {
        bcfg.pids.push_back(p);
        if (auto info = procfs.read(p)) existing.push_back(*info);
      }
  }
  for (const auto& u : units)
    for (auto pid : target::cgroup_procs(u.dir))
      if (auto info = procfs.read(pid)) existing.push_back(*info);

  install_stop_handlers();
  auto src = open_bpf(bcfg, opts.common);
  if (!src) return report_error(src.error());
  model::Clock clock = model::Clock::now();
  Watcher w(cfg, limits, **src, clock);
  if (auto r = w.open_outputs(); !r) return report_error(r.error());
  if (!opts.common.record.empty()) {
    auto rec = record::Writer::create(opts.common.record);
    if (!rec) return report_error(rec.error());
    report::RunInfo all;
    all.mode = "watch";
    all.target = join(cfg.units, ",") + (cfg.units.empty() ? "" : " ") + join(cfg.names, ",");
    all.backend = "bpf";
    all.start_ns = model::Clock::monotonic_ns();
    all.clock = clock;
    (*rec)->header(recording_header(all));
    w.record_all(std::move(*rec));
  }
  for (const auto& u : units) {
    std::optional<std::uint64_t> id;
    if (u.exists)
      if (auto cid = target::cgroup_id(u.dir)) id = *cid;
    w.tracker().watch_unit(u.unit, u.rel, id);
  }
  for (const auto& n : cfg.names) w.tracker().watch_name(n);
  // Parents before children, so a worker joins its master's service.
  std::sort(existing.begin(), existing.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; });
  for (const auto& p : existing) {
    std::uint64_t cg = 0;
    for (const auto& u : units)
      for (auto pid : target::cgroup_procs(u.dir))
        if (pid == p.pid)
          if (auto id = target::cgroup_id(u.dir)) cg = *id;
    learn_secrets_from_argv(p.argv);
    w.tracker().seed(p.pid, p.ppid, cg, p.argv, p.comm);
  }
  for (const auto& key : w.tracker().take_new_services()) spdlog::info("watching {}", redact(key));

  std::string what;
  for (const auto& u : cfg.units) what += (what.empty() ? "" : ", ") + std::string("unit ") + u;
  for (const auto& n : cfg.names) what += (what.empty() ? "" : ", ") + std::string("processes named ") + n;
  spdlog::info("tracing ready: watching {}; incidents to {}", what, cfg.incidents);
  w.set_watching(what);
  sd_notify(0, "READY=1");
  sd_notifyf(0, "STATUS=watching %s", what.c_str());

  const auto t0 = model::Clock::monotonic_ns();
  const sources::EventFn fn = [&](model::Event&& e) { w.on_event(std::move(e)); };
  int rc = kExitOk;
  for (;;) {
    if (g_stop_requests.load()) break;
    // No wakeup per event: the kernel submits without one unless a backlog
    // builds up, and this drains the ring every 250 ms.
    auto r = (*src)->poll(250, fn);
    if (!r) {
      rc = report_error(r.error());
      break;
    }
    auto now = model::Clock::monotonic_ns();
    w.tick(now, false);
    if (duration_ms && now - t0 >= static_cast<std::uint64_t>(*duration_ms) * 1000000ull) break;
  }
  sd_notify(0, "STOPPING=1");
  (void)(*src)->poll(0, fn);
  w.tick(model::Clock::monotonic_ns(), true);
  w.finish_recording(model::Clock::monotonic_ns());
  spdlog::info("stopped: {} events, {} lost, {} incidents", w.metrics().events, w.metrics().lost,
               w.metrics().incidents.size());
  return rc;
}

}  // namespace pm::cli
