// A finding: what failed, the evidence (events, with times), why, and the fix.
// Rules produce them from aggregator state; report/ renders them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "rules/finding_types.h"
#include "model/event.h"

namespace pm::rules {

using RuleFn = std::vector<Finding> (*)(const analysis::Aggregator&);

// What a rule says of itself, declared once in its own file with PM_RULE.
// Tests check that every rule has tests/unit/test_rule_<id>.cpp and a section
// in docs/rules.md, and that its preflight checks are in docs/doctor.md.
struct RuleInfo {
  const char* id;                  // as in docs/rules.md and Finding::rule
  Severity severity;               // of its findings, unless one is on purpose (info) or minor (warning)
  int rank;                        // of its findings (rank::) that do not set their own
  std::vector<CheckId> preflight;  // doctor's checks that find its cause before a start ({}: per finding)
  RuleFn fn;
  const char* file;                // its source file
};

// In a rule's file: PM_RULE(function, "id", severity, rank, {checks}) defines
// function_rule(), the rule's RuleInfo.
#define PM_RULE(fn, ...)                                           \
  const RuleInfo& fn##_rule() {                                    \
    static const RuleInfo info{__VA_ARGS__, fn, __FILE__};         \
    return info;                                                   \
  }

// Every rule, in the order docs/rules.md lists them.
const std::vector<RuleInfo>& all_rules();

// Runs every rule; findings ordered root cause first (rank, then time).
std::vector<Finding> run_rules(const analysis::Aggregator& agg);

// The rules, one file each, in the order docs/rules.md lists them and
// run_rules runs them: each file defines the function and, with PM_RULE, its
// RuleInfo (function_rule()).
#define PM_RULES(X)                                                                                       \
  X(permission_denied) X(address_in_use) X(missing_python_module) X(gunicorn_boot_failure) X(pre_exec_status) \
  X(exec_start_pre) X(start_timeout) X(killed_by_signal) X(database_connect) X(exec_failure) X(oom_kill)     \
  X(worker_timeout) X(environment_file) X(restart_loop)
#define PM_RULE_DECLARE(fn)                                  \
  std::vector<Finding> fn(const analysis::Aggregator& agg); \
  const RuleInfo& fn##_rule();
PM_RULES(PM_RULE_DECLARE)
#undef PM_RULE_DECLARE

// Helpers shared by rules.
// Whether p ran a unit's command line (its words joined, a leading '-'
// ignored) of program `path`: the same words, or that program with the
// line's arguments last; ExecStart='s program; any ExecStartPre=/Post=.
bool runs_command(const analysis::Process& p, std::string line, const std::string& path);
bool runs_exec_start(const analysis::Process& p, const analysis::UnitContext& u);
bool runs_start_helper(const analysis::Process& p, const analysis::UnitContext& u);
// Whether p ran one of the unit's ExecReload=/ExecStop=/ExecStopPost= lines.
bool runs_other_command(const analysis::Process& p, const analysis::UnitContext& u);
// systemd's name of a setup exit status ("USER" for 217), nullptr if none.
const char* systemd_exit_status_name(int code);
std::string describe_process(const analysis::Process& p);  // "gunicorn master (pid 12, uid 33)"
double seconds_since_start(const analysis::Aggregator& agg, std::uint64_t ts_ns);
std::string seconds_text(double s);  // "3.2 s"
// "3.2 s after start", or "3.2 s after tracing began" when the service was
// already running then (attach): its start was not seen.
std::string after_start_text(const analysis::Aggregator& agg, std::uint64_t ts_ns);
// Evidence in time order.
void sort_by_time(std::vector<model::Event>& events);
// "0644"
std::string mode_string(std::uint32_t mode);
// "www-data:www-data" (names read at report time, numbers when unknown)
std::string owner_of(const analysis::Aggregator& agg, const analysis::FileFacts& f);
// "PATH: owner www-data:www-data, mode 0644"
std::string ownership(const analysis::Aggregator& agg, const std::string& path, const analysis::FileFacts& f);
// What a process was in when a signal reached it: "connect() to
// 127.0.0.1:5432 for 4.0 s". With `databases`, a peer it names as a database
// is named too ("(PostgreSQL)").
std::string blocked_text(const analysis::Blocked& b, const analysis::Aggregator* databases = nullptr);
// A process's end as an event, for evidence.
model::Event exit_event(const analysis::Process& p);
// Its last exec as an event (exe and argv), for evidence.
model::Event exec_event(const analysis::Process& p);
// "exited with status 4", "was killed by SIGKILL"
std::string exit_text(const model::Exit& x);
// The last `lines` non-empty lines of what a process wrote, joined by " / ".
std::string output_tail(const std::string& output, std::size_t lines = 3);

// Who sent a signal, from its signal_generate event.
enum class SenderKind { kernel, service_manager, gunicorn_master, supervisor, operator_tool, self, other };
struct Sender {
  SenderKind kind = SenderKind::other;
  std::uint32_t pid = 0;
  std::string text;  // "PID 1 (systemd)", "the kernel", "the gunicorn master (pid 12)", "kill (pid 40)"
  bool wrapped = false;  // the command `pmtrace run` started, or a helper it ran
};
Sender signal_sender(const analysis::Aggregator& agg, const model::Event& generate);

// A start timeout: the service manager's terminating signal to the service
// at TimeoutStartSec= after its start, for a unit whose start waits (Type=
// notify, forking, ...). The start-timeout rule explains it; killed-by-signal
// leaves it to that rule.
bool is_start_timeout(const analysis::Aggregator& agg, const model::Event& generate);

}  // namespace pm::rules
