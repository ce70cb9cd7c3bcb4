// JSON form of a model event: one flat object, field names as listed in docs/architecture.md.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "model/event.h"
#include "model/losses.h"

namespace pm::model {

nlohmann::json to_json(const Event& e);
nlohmann::json to_json(const SockAddr& a);

// The reverse of to_json, for reading recordings back: nullopt, with the
// reason in *why, when the type is unknown or a field is missing, of the wrong
// type or out of range. Fields this version does not know are ignored.
std::optional<Event> event_from_json(const nlohmann::json& j, std::string* why = nullptr);
std::optional<SockAddr> sockaddr_from_json(const nlohmann::json& j);

// Losses as the report and recordings give them: total, ring_buffer_full,
// by_type (event type name -> count), untracked_processes, malformed, unknown_type.
nlohmann::json to_json(const Losses& l);
std::optional<Losses> losses_from_json(const nlohmann::json& j);

// One line of JSON; invalid UTF-8 in captured bytes is replaced, not thrown on.
std::string dump_line(const nlohmann::json& j);

}  // namespace pm::model
