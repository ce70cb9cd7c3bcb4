// Rule: an ExecStartPre= (or ExecStartPost=) command of the unit failed.
// systemd runs ExecStartPre= commands one after another before ExecStart= and
// fails the start at the first that exits non-zero or is killed (unless its
// line starts with '-'): ExecStart= never runs, and `systemctl start` says
// "the control process exited with error code". A failing ExecStartPost=
// fails the start after the service started, and systemd stops it again.
// The command is known by its program and words from the unit's settings;
// what it wrote (it and the processes it started) is its own explanation.
#include <optional>

#include "rules/finding.h"
#include "util/strings.h"

namespace pm::rules {

bool runs_command(const analysis::Process& p, std::string line, const std::string& path) {
  if (!p.exec_ns) return false;
  if (starts_with(line, "-")) line.erase(0, 1);
  // The line's words after its program against the end of argv: a #! script's
  // argv starts with its interpreter, an '@' line's with the name it gave.
  // A word systemd expands ($MAINPID, ${PORT}) stands for any one word.
  auto words = split(line, ' ');
  if (words.empty() || p.argv.size() + 1 < words.size()) return false;
  std::size_t offset = p.argv.size() + 1 - words.size();
  for (std::size_t i = 1; i < words.size(); ++i)
    if (words[i] != p.argv[offset + i - 1] && words[i].find('$') == std::string::npos) return false;
  // The program itself: argv[0] as written (a binary), or what was executed
  // (a script). Not its interpreter: ExecStartPre=/usr/bin/python3 manage.py
  // migrate and ExecStart='s gunicorn both run python3.
  if (!p.argv.empty() && offset == 0 && p.argv[0] == words[0]) return true;
  return !path.empty() && p.exe == path;
}

bool runs_exec_start(const analysis::Process& p, const analysis::UnitContext& u) {
  if (u.exec_start.empty() || !p.exec_ns) return false;
  const std::string& prog = u.exec_start[0];
  return p.exe == prog || (!p.argv.empty() && p.argv[0] == prog) || basename_of(p.exe) == basename_of(prog);
}

namespace {
// Which of a unit's command lines the process runs (its index), if any.
std::optional<std::size_t> which_of(const analysis::Process& p, const std::vector<std::string>& lines,
                                    const std::vector<std::string>& paths) {
  for (std::size_t i = 0; i < lines.size() && i < paths.size(); ++i)
    if (runs_command(p, lines[i], paths[i])) return i;
  return std::nullopt;
}
bool runs_one_of(const analysis::Process& p, const std::vector<std::string>& lines, const std::vector<std::string>& paths) {
  return which_of(p, lines, paths).has_value();
}
}  // namespace

bool runs_start_helper(const analysis::Process& p, const analysis::UnitContext& u) {
  return runs_one_of(p, u.exec_start_pre, u.exec_start_pre_paths) ||
         runs_one_of(p, u.exec_start_post, u.exec_start_post_paths);
}

bool runs_other_command(const analysis::Process& p, const analysis::UnitContext& u) {
  return runs_one_of(p, u.exec_other, u.exec_other_paths);
}

std::vector<Finding> exec_start_pre(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  for (const auto& unit : agg.units()) {
    const analysis::UnitContext* u = agg.unit_context(unit);
    if (!u || !u->loaded || (u->exec_start_pre.empty() && u->exec_start_post.empty())) continue;
    for (const auto& [pid, p] : agg.processes()) {
      if (!p.exit || !p.exit->failed() || !p.exec_ns || p.unit != unit) continue;
      auto found = which_of(p, u->exec_start_pre, u->exec_start_pre_paths);
      bool post = !found;
      if (post) found = which_of(p, u->exec_start_post, u->exec_start_post_paths);
      if (!found) continue;  // not one of them
      std::size_t index = *found;
      const std::string& line = post ? u->exec_start_post[index] : u->exec_start_pre[index];
      if (starts_with(line, "-")) continue;  // its failure is ignored
      const char* key = post ? "ExecStartPost=" : "ExecStartPre=";
      bool main_ran = false;
      for (const auto& [qpid, q] : agg.processes())
        if (q.unit == unit && runs_exec_start(q, *u) && *q.exec_ns > *p.exec_ns && !runs_command(q, line, "")) main_ran = true;
      Finding f;
      f.ts_ns = p.exit_ns;
      f.title = std::string(key) + line + " of " + unit + " " + exit_text(*p.exit) +
                (post ? ": systemd fails the start and stops the service"
                      : (main_ran ? "" : ": ExecStart= never ran"));
      f.evidence.push_back(exec_event(p));
      std::string output = p.output;
      for (const auto& [qpid, q] : agg.processes())
        if (qpid != pid && agg.descends_from(qpid, pid)) {
          output += q.output;
          if (q.exit && q.exit->failed()) f.evidence.push_back(exit_event(q));
        }
      f.evidence.push_back(exit_event(p));
      sort_by_time(f.evidence);
      f.facts.push_back(std::string(key) + " command " + std::to_string(index + 1) + " of " +
                        std::to_string(post ? u->exec_start_post.size() : u->exec_start_pre.size()) + ": " + line);
      std::string said = output_tail(output);
      if (!said.empty()) f.facts.push_back("it wrote: " + said);
      if (!post && !u->exec_start.empty())
        f.facts.push_back("ExecStart=" + join(u->exec_start, " ") + (main_ran ? " ran later (a restart)" : " was never started"));
      f.explanation = post ? "systemd runs ExecStartPost= after the main process started and fails the start when "
                             "one fails: the service is stopped again and the unit is failed."
                           : "systemd runs the ExecStartPre= commands in order before ExecStart= and fails the start "
                             "at the first that fails (\"control process exited with error code\" from systemctl "
                             "start, result 'exit-code'); nothing after it runs.";
      f.fix = "make `" + line + "` succeed (" + (said.empty() ? "run it by hand as the unit's user" : "its output says why") +
              "); if its failure must not stop the start, prefix it with '-' (" + key + "-" + line + ")";
      out.push_back(std::move(f));
    }
  }
  return out;
}

PM_RULE(exec_start_pre, "exec-start-pre", Severity::failure, rank::unit_setting, {})

}  // namespace pm::rules
