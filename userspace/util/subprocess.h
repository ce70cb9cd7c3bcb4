#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace pm {

struct Captured {
  int status = 0;  // exit code, or 128+signal
  std::string out;
};

// Runs argv (no shell) and captures its standard output; stderr is discarded.
Result<Captured> run_capture(const std::vector<std::string>& argv);

// Finds a command in $PATH the way execvp would; empty if not found.
std::string find_in_path(const std::string& cmd);

}  // namespace pm
