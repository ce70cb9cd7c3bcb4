#include "investigation/preflight.h"

namespace pm::investigation {

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
  if (f.rule == "start-timeout") return {"notify", "start-timeout"};
  if (f.rule == "killed-by-signal" && (f.explanation + f.fix).find("TimeoutStartSec") != std::string::npos)
    return {"notify", "start-timeout"};
  return {};
}

}  // namespace pm::investigation
