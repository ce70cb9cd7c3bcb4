// Rule: a missing Python module, read from the captured traceback (Python
// probes every sys.path entry, so the failed opens alone do not say which
// import failed). Names the package to install and the interpreter to use.
#include <set>

#include "rules/finding.h"
#include "rules/traceback.h"
#include "util/strings.h"

namespace pm::rules {
namespace {

// The interpreter a process ran: its exe when it is python, else the #! of a
// script such as /srv/venv/bin/gunicorn is unknown here and argv[0] is used.
std::string interpreter_of(const analysis::Aggregator& agg, const analysis::Process& p) {
  const analysis::Process* q = &p;
  if (q->exe.empty() && q->role == analysis::Role::gunicorn_worker)
    if (const auto* m = agg.process(q->ppid)) q = m;
  if (q->exe.find("python") != std::string::npos) return q->exe;
  if (!q->argv.empty() && q->argv[0].find("python") != std::string::npos) return q->argv[0];
  if (!q->exe.empty()) {
    // A venv's console script: its python sits beside it.
    auto slash = q->exe.rfind('/');
    if (slash != std::string::npos) return q->exe.substr(0, slash) + "/python";
  }
  return "python3";
}

}  // namespace

std::vector<Finding> missing_python_module(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  std::set<std::string> modules;
  for (const auto& [pid, p] : agg.processes()) {
    auto module = missing_module(p.output);
    if (!module || !modules.insert(*module).second) continue;
    std::string python = interpreter_of(agg, p);
    Finding f;
    f.ts_ns = p.exit ? p.exit_ns : p.first_ns;
    f.title = "Python module '" + *module + "' is missing for " + python;
    model::Event w;
    w.hdr.type = model::EventType::write;
    w.hdr.pid = pid;
    w.hdr.comm = p.comm;
    w.hdr.ts_ns = f.ts_ns;
    model::Write body;
    body.fd = 2;
    body.head = python_error_line(p.output).value_or("No module named " + *module);
    body.count = body.head.size();
    w.body = body;
    f.evidence.push_back(w);
    f.facts.push_back("interpreter: " + python);
    f.explanation = "The import of '" + *module + "' failed: no directory on this interpreter's sys.path has it. "
                    "It is installed for another Python (a different virtualenv, the system Python) or not "
                    "at all.";
    f.fix = pip_install_fix(python, *module);
    out.push_back(std::move(f));
  }
  return out;
}

PM_RULE(missing_python_module, "missing-python-module", Severity::failure, rank::dependency, {CheckId::import})

}  // namespace pm::rules
