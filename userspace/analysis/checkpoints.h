// Checkpoints: the phases a service reached, inferred from its events, with
// times. gunicorn (without --preload) goes: started, configuration read, port
// listening, application imported (in each worker), database connected (when
// the app connects at import), workers booted, serving. With --preload the app
// is imported by the master before it binds. Processes that are not gunicorn
// get the phases that apply to anything: started, database connected, port
// listening, serving.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/aggregator.h"
#include "analysis/checkpoint_types.h"

namespace pm::analysis {

// `service_failed`: a process failed or a rule found a failure; only then is
// the first phase not reached marked failed.
Checkpoints infer_checkpoints(const Aggregator& agg, bool service_failed);

}  // namespace pm::analysis
