// What a gunicorn command line asks for: the one reader of gunicorn's options
// for the rules (app spec, --timeout, --preload, workers), the checkpoints and
// pmtrace doctor (binds, log and pid files, --chdir). Options are read as
// gunicorn's argparse reads them: "-b X", "-bX", "--bind X", "--bind=X";
// the app spec is the last positional argument.
#pragma once

#include <string>
#include <vector>

namespace pm::analysis {

struct GunicornArgs {
  std::vector<std::string> binds;  // -b/--bind, in order ("127.0.0.1:8000", "unix:/run/x.sock")
  std::string app;                 // "projectmeats.wsgi:application"
  std::string timeout = "30";      // -t/--timeout as written (gunicorn's default 30)
  bool timeout_given = false;
  unsigned workers = 1;            // -w/--workers (a non-number keeps 1)
  bool preload = false;            // --preload
  bool daemon = false;             // -D/--daemon
  std::string chdir;               // --chdir
  std::string config;              // -c/--config
  std::string error_log;           // --error-logfile/--log-file ("-" is stderr)
  std::string access_log;          // --access-logfile
  std::string pid_file;            // -p/--pid
  std::string worker_tmp_dir;      // --worker-tmp-dir
  std::vector<std::string> pythonpath;  // --pythonpath, split on ','
  std::vector<std::string> env;    // -e/--env KEY=VALUE
};

// argv[0] is gunicorn, or python with a gunicorn script or -m gunicorn after it.
GunicornArgs parse_gunicorn_args(const std::vector<std::string>& argv);

}  // namespace pm::analysis
