#include "report/sink.h"

#include <cstdio>

#include "model/event_json.h"
#include "model/names.h"
#include "pmtrace_version.h"
#include "report/describe.h"
#include "util/redact.h"
#include "util/strings.h"

namespace pm::report {
namespace {

using nlohmann::json;

std::string ending(const analysis::ProcessEnd& f) {
  if (f.exit.signal()) return "killed by " + model::signal_name(f.exit.signal());
  return "exited with code " + std::to_string(f.exit.code());
}

}  // namespace

Summary summarize(analysis::Aggregator& agg, std::uint64_t end_ns) {
  Summary s;
  s.end_ns = end_ns;
  s.failures = agg.table().failures();
  agg.set_end_ns(end_ns);
  s.findings = rules::run_rules(agg);
  bool failure_found = false;
  for (const auto& f : s.findings) failure_found |= f.severity == rules::Severity::failure;
  s.exit_status = s.failures.empty() && !failure_found ? 0 : 1;
  s.checkpoints = analysis::infer_checkpoints(agg, s.exit_status != 0);
  for (const auto& f : s.findings)
    if (f.severity != rules::Severity::info)
      for (auto& c : preflight_checks(f))
        if (std::find(s.preflight_checks.begin(), s.preflight_checks.end(), c) == s.preflight_checks.end())
          s.preflight_checks.push_back(std::move(c));
  if (!agg.units().empty()) s.unit = agg.units().front();
  return s;
}

std::vector<std::string> preflight_checks(const rules::Finding& f) {
  // What doctor reads without a start (docs/doctor.md) against what each rule
  // sees happen (docs/rules.md).
  if (f.rule == "permission-denied") return {"writable", "working-directory"};
  if (f.rule == "address-in-use") return {"bind"};
  if (f.rule == "missing-python-module" || f.rule == "gunicorn-boot-failure") return {"import"};
  if (f.rule == "database-connect") return {"database"};
  if (f.rule == "exec-failure") return {"user", "exec", "working-directory"};
  if (f.rule == "environment-file") return {"environment-file"};
  if (f.rule == "worker-timeout") return {"worker-timeout"};
  if (f.rule == "killed-by-signal" && (f.explanation + f.fix).find("TimeoutStartSec") != std::string::npos)
    return {"notify", "start-timeout"};
  return {};
}

std::string preflight_command(const Summary& s) {
  return "pmtrace doctor " + (s.unit.empty() ? std::string("UNIT") : s.unit);
}

std::string relative_time(std::uint64_t ts_ns, std::uint64_t start_ns) {
  char buf[32];
  double d = (static_cast<double>(ts_ns) - static_cast<double>(start_ns)) / 1e9;
  std::snprintf(buf, sizeof buf, "%+.3fs", d);
  return buf;
}

void TextSink::begin(const RunInfo& info) {
  info_ = info;
  out_ << "pmtrace " << info.mode << " " << redact(info.target) << "\n"
       << "backend " << info.backend << ", started " << info.clock.to_iso8601(info.start_ns) << "\n";
  if (!redaction_enabled()) out_ << "SECRETS ARE NOT REDACTED (--no-redact): do not share this report\n";
  out_ << "\n";
  char line[96];
  std::snprintf(line, sizeof line, "%9s %7s %-15s %s\n", "TIME", "PID", "COMM", "EVENT");
  out_ << line;
}

void TextSink::print(const model::Event& e, const std::string& what) {
  char prefix[64];
  std::snprintf(prefix, sizeof prefix, "%9s %7u %-15s ", relative_time(e.hdr.ts_ns, info_.start_ns).c_str(),
                e.hdr.pid, escape_bytes(e.hdr.comm).c_str());
  out_ << prefix << what << "\n";
}

namespace {
constexpr int kEnoent = 2;
constexpr std::size_t kRunTextKeep = 4096;

bool foldable(const model::Event& e) {
  if (const auto* w = e.as<model::Write>()) return w->fd == 1 || w->fd == 2;
  if (const auto* o = e.as<model::OpenFailed>()) return o->err == kEnoent;
  return false;
}
}  // namespace

bool TextSink::extends(const model::Event& e) const {
  if (!run_ || run_->first.hdr.pid != e.hdr.pid || run_->first.hdr.type != e.hdr.type) return false;
  if (const auto* w = e.as<model::Write>()) return w->fd == run_->first.as<model::Write>()->fd;
  return foldable(e);
}

void TextSink::flush() {
  if (!run_) return;
  Run r = std::move(*run_);
  run_.reset();
  if (r.count == 1) {
    print(r.first, describe(r.first));
    return;
  }
  if (const auto* w = r.first.as<model::Write>()) {
    model::Event merged = r.first;
    auto& mw = std::get<model::Write>(merged.body);
    mw.count = r.bytes;
    mw.head = r.text;
    mw.tail.clear();
    std::string d = describe(merged);
    std::string where = w->fd == 2 ? "stderr" : "stdout";
    // describe() says "stderr NB:"; say how many writes it took.
    if (starts_with(d, where)) d = where + " (" + std::to_string(r.count) + " writes)" + d.substr(where.size());
    print(r.first, d);
    return;
  }
  print(r.first, describe(r.first));
  print(r.first, "... and " + std::to_string(r.count - 1) + " more ENOENT opens, the last " + redact(escape_bytes(r.last_path)));
}

void TextSink::event(const model::Event& e) {
  if (!extends(e)) flush();
  if (!foldable(e)) {
    print(e, describe(e));
    return;
  }
  if (!run_) run_ = Run{e, 0, 0, {}, {}};
  ++run_->count;
  if (const auto* w = e.as<model::Write>()) {
    run_->bytes += w->count;
    std::string piece = w->head + (w->skipped() ? "\n...\n" : "") + w->tail;
    run_->text += piece;
    // Keep the start and the end: the error is on the last line.
    if (run_->text.size() > 2 * kRunTextKeep)
      run_->text = run_->text.substr(0, kRunTextKeep) + "\n...\n" + run_->text.substr(run_->text.size() - kRunTextKeep);
  } else if (const auto* o = e.as<model::OpenFailed>()) {
    run_->last_path = o->path;
  }
}

void TextSink::end(const Summary& s) {
  flush();
  out_ << "\n";
  char buf[160];
  std::snprintf(buf, sizeof buf, "%llu events in %.2fs (%s); %llu lost",
                static_cast<unsigned long long>(s.events), (s.end_ns - info_.start_ns) / 1e9, s.end_reason.c_str(),
                static_cast<unsigned long long>(s.losses.total()));
  out_ << buf << "\n";
  if (s.losses.ring_total())
    out_ << "  " << s.losses.ring_total()
         << " lost because the ring buffer was full: increase --ringbuf-size\n";
  if (s.losses.track_full)
    out_ << "  " << s.losses.track_full << " new processes could not be tracked (map full): their events are missing\n";
  if (s.losses.malformed || s.losses.unknown)
    out_ << "  " << s.losses.malformed << " malformed and " << s.losses.unknown << " unknown records skipped\n";
  for (const auto& n : s.notes) out_ << "note: " << n << "\n";
  if (!s.checkpoints.list.empty()) {
    out_ << "\nCHECKPOINTS\n";
    for (const auto& c : s.checkpoints.list) {
      char line[96];
      std::snprintf(line, sizeof line, "  %9s  %-21s ", c.reached ? relative_time(c.ts_ns, info_.start_ns).c_str() : "",
                    c.name.c_str());
      std::string state = c.reached ? redact(c.evidence) : c.failed ? "FAILED here" : "not reached";
      if (!c.reached && c.failed && !c.evidence.empty()) state += " (" + redact(c.evidence) + ")";
      out_ << line << state << "\n";
    }
    const auto* last = s.checkpoints.last_reached();
    const auto* failed = s.checkpoints.failed();
    if (failed)
      out_ << "  last reached: " << (last ? last->name : std::string("none")) << "; failed: " << failed->name << "\n";
  }
  if (!s.findings.empty()) {
    out_ << "\nFINDINGS (root cause first)\n";
    int n = 0;
    for (const auto& f : s.findings) {
      std::string sev = rules::severity_name(f.severity);
      if (f.severity == rules::Severity::failure) sev = "FAILURE";
      out_ << "\n" << ++n << ". [" << sev << "] "
           << redact(f.title) << "   (" << f.rule << ")\n";
      for (const auto& e : f.evidence) {
        char prefix[64];
        std::snprintf(prefix, sizeof prefix, "   %9s %7u %-15s ", relative_time(e.hdr.ts_ns, info_.start_ns).c_str(),
                      e.hdr.pid, escape_bytes(e.hdr.comm).c_str());
        out_ << prefix << describe(e) << "\n";
      }
      for (const auto& fact : f.facts) out_ << "   - " << redact(fact) << "\n";
      out_ << "   why: " << redact(f.explanation) << "\n";
      out_ << "   fix: " << redact(f.fix) << "\n";
    }
    if (!s.preflight_checks.empty())
      out_ << "before the next start: `" << preflight_command(s)
           << "` finds this without starting the service (its checks " << join(s.preflight_checks, ", ") << ")\n";
    out_ << "\n";
  }
  if (s.failures.empty()) {
    out_ << "no traced process failed\n";
  } else {
    for (const auto& f : s.failures)
      out_ << "FAILED: pid " << f.pid << " (" << escape_bytes(f.comm) << ") " << ending(f) << " at "
           << relative_time(f.ts_ns, info_.start_ns) << "\n";
  }
  out_.flush();
}

void JsonSink::begin(const RunInfo& info) {
  info_ = info;
  json j = {{"type", "start"},
            {"schema", 1},
            {"pmtrace_version", PMTRACE_VERSION},
            {"mode", info.mode},
            {"target", info.target},
            {"backend", info.backend},
            {"start_ns", info.start_ns},
            {"start_time", info.clock.to_iso8601(info.start_ns)},
            {"redacted", redaction_enabled()}};
  redact_json(j);
  out_ << model::dump_line(j) << "\n";
}

void JsonSink::event(const model::Event& e) {
  json j = model::to_json(e);
  j["time"] = (static_cast<double>(e.hdr.ts_ns) - static_cast<double>(info_.start_ns)) / 1e9;
  redact_json(j);
  out_ << model::dump_line(j) << "\n";
}

void JsonSink::end(const Summary& s) {
  json failures = json::array();
  for (const auto& f : s.failures) {
    json fj = {{"pid", f.pid}, {"comm", f.comm}, {"ts_ns", f.ts_ns}};
    if (f.exit.signal()) fj["signal"] = model::signal_name(f.exit.signal());
    else fj["exit_code"] = f.exit.code();
    failures.push_back(fj);
  }
  json findings = json::array();
  for (const auto& f : s.findings) {
    json ev = json::array();
    for (const auto& e : f.evidence) {
      json ej = model::to_json(e);
      ej["time"] = (static_cast<double>(e.hdr.ts_ns) - static_cast<double>(info_.start_ns)) / 1e9;
      ev.push_back(ej);
    }
    findings.push_back({{"rule", f.rule},
                        {"severity", rules::severity_name(f.severity)},
                        {"title", f.title},
                        {"evidence", ev},
                        {"facts", f.facts},
                        {"explanation", f.explanation},
                        {"fix", f.fix}});
  }
  json checkpoints = json::array();
  for (const auto& c : s.checkpoints.list) {
    json cj = {{"name", c.name}, {"reached", c.reached}, {"failed", c.failed}, {"evidence", c.evidence}};
    if (c.reached) cj["time"] = (static_cast<double>(c.ts_ns) - static_cast<double>(info_.start_ns)) / 1e9;
    checkpoints.push_back(cj);
  }
  const auto* last = s.checkpoints.last_reached();
  const auto* failed = s.checkpoints.failed();
  json j = {{"type", "summary"},
            {"findings", findings},
            {"checkpoints", checkpoints},
            {"last_checkpoint", last ? json(last->name) : json(nullptr)},
            {"failed_checkpoint", failed ? json(failed->name) : json(nullptr)},
            {"events", s.events},
            {"duration_s", (s.end_ns - info_.start_ns) / 1e9},
            {"end_reason", s.end_reason},
            {"lost", model::to_json(s.losses)},
            {"notes", s.notes},
            {"preflight", s.preflight_checks.empty() ? json(nullptr)
                                                     : json{{"command", preflight_command(s)}, {"checks", s.preflight_checks}}},
            {"failures", failures},
            {"exit_status", s.exit_status}};
  redact_json(j);
  out_ << model::dump_line(j) << "\n";
  out_.flush();
}

}  // namespace pm::report
