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

std::string ending_of(const model::Exit& x) {
  if (x.signal()) return "killed by " + model::signal_name(x.signal());
  return "exited with code " + std::to_string(x.code());
}
std::string ending(const analysis::ProcessEnd& f) { return ending_of(f.exit); }

// "2 (start-timeout), 3 (killed-by-signal)": findings by their number in the report.
std::string finding_refs(const Summary& s, const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids)
    for (std::size_t n = 0; n < s.findings.size(); ++n)
      if (s.findings[n].id == id)
        out += (out.empty() ? "" : ", ") + std::to_string(n + 1) + " (" + s.findings[n].rule + ")";
  return out;
}

}  // namespace

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
  if (full_) add(e);
}

void TextSink::add(const model::Event& e) {
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
  if (!full_) {
    for (const auto& e : s.timeline) add(e);
  }
  flush();
  if (!full_ && s.folded)
    out_ << "  (" << s.folded << " routine events not shown: import and locale probing, forks, SIGCHLD, successful "
         << "connects, helpers' own activity; --timeline full shows every event)\n";
  if (!s.timeline_complete) out_ << "  (the timeline was cut: --timeline full shows every event)\n";
  out_ << "\n";
  char buf[160];
  std::snprintf(buf, sizeof buf, "%llu events in %.2fs (%s); %llu lost",
                static_cast<unsigned long long>(s.events), (s.end_ns - info_.start_ns) / 1e9, s.end_reason.c_str(),
                static_cast<unsigned long long>(s.losses.total()));
  out_ << buf << "\n";
  if (s.losses.ring_total()) {
    out_ << "  " << s.losses.ring_total() << " lost because the ring buffer was full (";
    const char* sep = "";
    for (model::EventType t : model::kEventTypes) {
      if (auto n = s.losses.ring_full[static_cast<std::size_t>(t)]) {
        out_ << sep << n << " " << model::type_name(t);
        sep = ", ";
      }
    }
    out_ << "): increase --ringbuf-size\n";
  }
  if (s.losses.track_full)
    out_ << "  " << s.losses.track_full << " new processes could not be tracked (map full): their events are missing\n";
  if (s.losses.malformed || s.losses.unknown)
    out_ << "  " << s.losses.malformed << " malformed and " << s.losses.unknown << " unknown records skipped\n";
  for (const auto& n : s.notes) out_ << "note: " << n << "\n";
  out_ << "\nVERDICT: " << investigation::verdict_name(s.verdict) << ": " << redact(s.verdict_text) << "\n";
  if (s.wrapped.present && !s.wrapped.is_service) {
    out_ << "the command pmtrace ran (pid " << s.wrapped.pid << ") ";
    if (!s.wrapped.exit) out_ << "was still running when tracing ended\n";
    else out_ << ending_of(*s.wrapped.exit) << " at " << relative_time(s.wrapped.exit_ns, info_.start_ns) << "\n";
  }
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
      if (!f.caused_by.empty()) out_ << "   caused by: " << finding_refs(s, f.caused_by) << "\n";
      for (const auto& e : f.evidence) {
        char prefix[64];
        std::snprintf(prefix, sizeof prefix, "   %9s %7u %-15s ", relative_time(e.hdr.ts_ns, info_.start_ns).c_str(),
                      e.hdr.pid, escape_bytes(e.hdr.comm).c_str());
        out_ << prefix << describe(e) << "\n";
      }
      for (const auto& fact : f.facts) out_ << "   - " << redact(fact) << "\n";
      out_ << "   why: " << redact(f.explanation) << "\n";
      out_ << "   fix: " << redact(f.fix) << "\n";
      if (!f.causes.empty()) out_ << "   which caused: " << finding_refs(s, f.causes) << "\n";
    }
    if (!s.preflight_checks.empty())
      out_ << "before the next start: `" << preflight_command(s)
           << "` finds this without starting the service (its checks " << join(s.preflight_checks, ", ") << ")\n";
    out_ << "\n";
  }
  if (!s.failures.empty()) {
    for (const auto& f : s.failures)
      out_ << "FAILED: pid " << f.pid << " (" << escape_bytes(f.comm) << ") " << ending(f) << " at "
           << relative_time(f.ts_ns, info_.start_ns) << "\n";
  }
  out_.flush();
}

void JsonSink::begin(const RunInfo& info) {
  info_ = info;
  json j = {{"type", "start"},
            {"schema", investigation::kJsonSchema},
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
  auto ends = [](const std::vector<analysis::ProcessEnd>& list) {
    json out = json::array();
    for (const auto& f : list) {
      json fj = {{"pid", f.pid}, {"comm", f.comm}, {"ts_ns", f.ts_ns}};
      if (f.exit.signal()) fj["signal"] = model::signal_name(f.exit.signal());
      else fj["exit_code"] = f.exit.code();
      out.push_back(fj);
    }
    return out;
  };
  json failures = ends(s.failures);
  json wrapped = nullptr;
  if (s.wrapped.present) {
    wrapped = {{"pid", s.wrapped.pid}, {"command", s.wrapped.command}, {"is_service", s.wrapped.is_service},
               {"running", !s.wrapped.exit.has_value()}};
    if (s.wrapped.exit) {
      if (s.wrapped.exit->signal()) wrapped["signal"] = model::signal_name(s.wrapped.exit->signal());
      else wrapped["exit_code"] = s.wrapped.exit->code();
      wrapped["time"] = (static_cast<double>(s.wrapped.exit_ns) - static_cast<double>(info_.start_ns)) / 1e9;
    }
  }
  json findings = json::array();
  for (const auto& f : s.findings) {
    json ev = json::array();
    for (const auto& e : f.evidence) {
      json ej = model::to_json(e);
      ej["time"] = (static_cast<double>(e.hdr.ts_ns) - static_cast<double>(info_.start_ns)) / 1e9;
      ev.push_back(ej);
    }
    findings.push_back({{"id", f.id},
                        {"caused_by", f.caused_by},
                        {"causes", f.causes},
                        {"rule", f.rule},
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
            {"schema", investigation::kJsonSchema},
            {"verdict", investigation::verdict_name(s.verdict)},
            {"verdict_text", s.verdict_text},
            {"service", s.service_basis},
            {"unit", s.unit.empty() ? json(nullptr) : json(s.unit)},
            {"wrapped_command", wrapped},
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
            {"helper_failures", ends(s.helper_failures)},
            {"exit_status", s.exit_status}};
  redact_json(j);
  out_ << model::dump_line(j) << "\n";
  out_.flush();
}

}  // namespace pm::report
