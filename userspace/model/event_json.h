// JSON form of a model event: one flat object, field names as listed in docs/architecture.md.
#pragma once

#include <nlohmann/json.hpp>

#include "model/event.h"

namespace pm::model {

nlohmann::json to_json(const Event& e);
nlohmann::json to_json(const SockAddr& a);

// One line of JSON; invalid UTF-8 in captured bytes is replaced, not thrown on.
std::string dump_line(const nlohmann::json& j);

}  // namespace pm::model
