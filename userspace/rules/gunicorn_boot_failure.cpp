// Rule: a gunicorn worker that failed to boot (exit code 3) or an app that
// failed to load (exit code 4), pointing at the traceback that caused it.
// gunicorn's arbiter.py: WORKER_BOOT_ERROR = 3, APP_LOAD_ERROR = 4; the
// master then halts with the same code (or 1 when a second HaltServer escapes
// during stop()).
#include <set>

#include "analysis/gunicorn_args.h"
#include "rules/finding.h"
#include "rules/traceback.h"
#include "util/strings.h"

namespace pm::rules {
std::vector<Finding> gunicorn_boot_failure(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  std::set<std::uint32_t> masters_done;
  for (const auto& [pid, p] : agg.processes()) {
    if (!p.exit || p.exit->signal() || (p.exit->code() != 3 && p.exit->code() != 4)) continue;
    if (p.role != analysis::Role::gunicorn_worker && p.role != analysis::Role::gunicorn_master) continue;
    const analysis::Process* master = agg.gunicorn_master_of(pid);
    std::uint32_t key = master ? master->pid : pid;
    if (!masters_done.insert(key).second) continue;  // one finding per gunicorn

    // The traceback is on a worker's stderr (or the master's with --preload).
    std::string output = p.output;
    std::optional<std::string> error = python_error_line(output);
    for (const auto& [wpid, w] : agg.processes()) {
      if (error) break;
      if (w.ppid == key && w.role == analysis::Role::gunicorn_worker && (error = python_error_line(w.output)))
        output = w.output;
    }
    if (!error && master && (error = python_error_line(master->output))) output = master->output;
    int code = p.exit->code();

    Finding f;
    f.ts_ns = p.exit_ns;
    f.title = code == 3 ? "gunicorn worker failed to boot (exit code 3)" : "gunicorn could not load the app (exit code 4)";
    if (error) f.title += ": " + *error;
    f.evidence.push_back(exit_event(p));
    if (code == 3) {
      f.explanation = "gunicorn exits with 3 (WORKER_BOOT_ERROR) when a worker raises before it has booted: an "
                      "import error, a missing module, a file the app cannot open, a failing settings module. "
                      "The master then halts the whole service.";
      if (missing_module(output)) {
        f.fix = "see the missing-python-module finding";
      } else if (error && error->find("OperationalError") != std::string::npos) {
        f.fix = "the database connect at import failed: see the database-connect finding (" + *error + ")";
      } else {
        f.fix = "fix the error in the traceback" + (error ? " (" + *error + ")" : std::string()) +
                "; run gunicorn once with --preload in a shell to see it directly";
      }
    } else {
      f.explanation = "gunicorn exits with 4 (APP_LOAD_ERROR) when the module imports but the application "
                      "object named after the colon does not exist or is not callable.";
      std::string spec = master ? analysis::parse_gunicorn_args(master->argv).app : "";
      f.fix = "correct the app spec" + (spec.empty() ? std::string() : " '" + spec + "'") +
              " in ExecStart= to module:variable (Django: project.wsgi:application; Flask: app:app)";
    }
    out.push_back(std::move(f));
  }
  return out;
}

PM_RULE(gunicorn_boot_failure, "gunicorn-boot-failure", Severity::failure, rank::boot, {CheckId::import})

}  // namespace pm::rules
