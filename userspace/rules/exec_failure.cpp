// Rule: the service's program could not be started, or its working directory
// could not be entered. systemd's spawned child exits 203/EXEC when execve()
// fails and 200/CHDIR when WorkingDirectory= fails; gunicorn --chdir fails the
// same chdir(). A script whose "#!" interpreter is missing fails execve() with
// ENOENT although the script exists (a virtualenv whose python points at an
// interpreter that was removed). A failed exec followed by a successful one
// in the same process is a PATH search, not a failure.
#include <cerrno>
#include <cstdio>
#include <set>

#include "model/names.h"
#include "rules/finding.h"
#include "util/strings.h"

namespace pm::rules {
namespace {

bool exec_later(const analysis::Aggregator& agg, const model::Event& failed) {
  const analysis::Process* p = agg.process(failed.hdr.pid);
  return p && p->exec_ns && *p->exec_ns > failed.hdr.ts_ns;
}

void explain_exec(const analysis::Aggregator& agg, const std::string& path, int err, Finding& f) {
  auto facts = agg.path_facts(path);
  std::string venv_fix = "recreate the virtualenv with an interpreter that exists (python3 -m venv --clear DIR, then "
                         "DIR/bin/pip install -r requirements.txt), or correct ExecStart=";
  if (err == ENOENT && facts && facts->symlink && !facts->target_exists) {
    f.title = path + " is a dangling symlink (to " + facts->link_target + ")";
    f.facts.push_back(path + " -> " + facts->link_target + ", which does not exist");
    f.explanation = "execve() follows the symlink and finds nothing at its target.";
    f.fix = "point ExecStart= at a program that exists, or restore " + facts->link_target;
  } else if (err == ENOENT && facts && !facts->shebang.empty()) {
    std::string interp = shebang_interpreter(facts->shebang);
    f.title = path + " exists, but its interpreter " + interp + " does not";
    f.facts.push_back(path + " starts with " + facts->shebang);
    if (!interp.empty() && interp.back() == '\r') {
      f.facts.push_back("the #! line ends in a carriage return: the file has Windows (CRLF) line endings");
      f.explanation = "The kernel reads the interpreter's name up to the end of the line, carriage return included.";
      f.fix = "convert the script to Unix line endings: sed -i 's/\\r$//' " + path;
      return;
    }
    auto ifacts = agg.path_facts(interp);
    if (ifacts && ifacts->symlink && !ifacts->target_exists)
      f.facts.push_back(interp + " -> " + ifacts->link_target + ", which no longer exists");
    else if (!ifacts)
      f.facts.push_back(interp + " does not exist");
    f.explanation = "The kernel starts a script through the interpreter named on its #! line; when that interpreter "
                    "is missing, execve() fails with ENOENT although the script is there. A virtualenv's bin/python "
                    "is a symlink to the Python it was created with: upgrading or removing that Python breaks "
                    "every script in the virtualenv.";
    f.fix = venv_fix;
  } else if (err == ENOENT) {
    f.title = path + " does not exist";
    f.explanation = "execve() found no file at that path.";
    f.fix = "correct ExecStart= (use an absolute path to the virtualenv's gunicorn, e.g. /srv/app/venv/bin/gunicorn), "
            "or install the program";
  } else if (err == EACCES) {
    f.title = path + " may not be executed";
    if (facts)
      f.facts.push_back(ownership(agg, path, *facts));
    f.explanation = "execve() needs the execute bit on the file and search (x) on every directory on the way; a "
                    "filesystem mounted noexec refuses it too.";
    f.fix = "chmod +x " + path + " (and check the directories' modes and the mount options)";
  } else if (err == ENOEXEC) {
    f.title = path + " is not a program the kernel can run";
    f.explanation = "execve() refuses a file that is neither a binary for this machine nor a script with a #! line.";
    f.fix = "add a #! line to the script, or run it through its interpreter in ExecStart=";
  } else {
    f.title = "exec of " + path + " failed with " + model::errno_name(err);
    f.explanation = "execve() failed.";
    f.fix = "correct ExecStart=";
  }
}

void explain_chdir(const analysis::Aggregator& agg, const std::string& path, int err, Finding& f) {
  auto facts = agg.path_facts(path);
  if (facts && facts->symlink && !facts->target_exists) {
    f.title = "working directory " + path + " is a dangling symlink (to " + facts->link_target + ")";
    f.facts.push_back(path + " -> " + facts->link_target + ", which does not exist");
    f.explanation = "A release directory the symlink pointed at was removed or never created (a failed deploy, a "
                    "cleanup of old releases).";
    f.fix = "point the symlink at an existing release (ln -sfn /srv/app/releases/CURRENT " + path +
            "), or correct WorkingDirectory= / --chdir";
  } else if (err == ENOENT || err == ENOTDIR) {
    f.title = "working directory " + path + " does not exist";
    f.explanation = "chdir() found no directory at that path.";
    f.fix = "create it (install -d " + path + ") or correct WorkingDirectory= (systemd, exit status 200/CHDIR) or "
            "gunicorn's --chdir";
  } else if (err == EACCES) {
    f.title = "working directory " + path + " may not be entered";
    if (facts)
      f.facts.push_back(ownership(agg, path, *facts));
    f.explanation = "chdir() needs search (x) permission on the directory and on every directory above it for the "
                    "service user (a project under /root or a 0700 home is the usual cause).";
    f.fix = "move the project out of a private home directory, or give the service user search permission on the "
            "path (chmod o+x on each directory)";
  } else {
    f.title = "chdir to " + path + " failed with " + model::errno_name(err);
    f.explanation = "chdir() failed.";
    f.fix = "correct WorkingDirectory= or --chdir";
  }
}

}  // namespace

std::vector<Finding> exec_failure(const analysis::Aggregator& agg) {
  std::vector<Finding> out;
  std::set<std::uint32_t> done;
  for (const auto& e : agg.exec_failures()) {
    if (exec_later(agg, e)) continue;  // a PATH search that went on to succeed
    if (!done.insert(e.hdr.pid).second) continue;
    // execvp goes on through $PATH after a failure: the telling one is a path
    // that exists (a broken interpreter, no execute bit), else the first.
    model::Event last = e;
    int best = -1;
    for (const auto& o : agg.exec_failures()) {
      if (o.hdr.pid != e.hdr.pid) continue;
      const auto* x = o.as<model::ExecFailed>();
      int score = agg.path_facts(x->filename) ? 2 : x->err != ENOENT ? 1 : 0;
      if (score > best) {
        best = score;
        last = o;
      }
    }
    const auto* x = last.as<model::ExecFailed>();
    Finding f;
    f.ts_ns = last.hdr.ts_ns;
    f.evidence.push_back(last);
    explain_exec(agg, x->filename, x->err, f);
    if (const analysis::Process* p = agg.process(last.hdr.pid); p && p->exit) {
      f.evidence.push_back(exit_event(*p));
      if (p->exit->code() == 203) f.facts.push_back("exit status 203 is systemd's EXEC: ExecStart= could not run");
    }
    out.push_back(std::move(f));
  }
  for (const auto& e : agg.chdir_failures()) {
    const analysis::Process* p = agg.process(e.hdr.pid);
    // A failed chdir matters when its process then gave up.
    if (!p || !p->exit || !p->exit->failed() || !done.insert(e.hdr.pid).second) continue;
    const auto* c = e.as<model::ChdirFailed>();
    Finding f;
    f.ts_ns = e.hdr.ts_ns;
    f.evidence.push_back(e);
    f.evidence.push_back(exit_event(*p));
    explain_chdir(agg, c->path, c->err, f);
    if (p->exit->code() == 200) f.facts.push_back("exit status 200 is systemd's CHDIR: WorkingDirectory= failed");
    out.push_back(std::move(f));
  }
  return out;
}

PM_RULE(exec_failure, "exec-failure", Severity::failure, rank::exec, {CheckId::user, CheckId::exec, CheckId::working_directory})

}  // namespace pm::rules
