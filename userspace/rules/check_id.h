// The checks of `pmtrace doctor`, by typed id. Doctor makes a check of each
// id (docs/doctor.md has a row for every one); each rule names the ones that
// would have caught its failure before a start (RuleInfo::preflight), so
// `run` and `attach` can point at them. Never matched by their prose.
#pragma once

#include <optional>
#include <string_view>

namespace pm::rules {

// PM_CHECK(enumerator, "id as printed and in JSON")
#define PM_DOCTOR_CHECKS(PM_CHECK)              \
  PM_CHECK(unit_file, "unit-file")              \
  PM_CHECK(user, "user")                        \
  PM_CHECK(exec, "exec")                        \
  PM_CHECK(working_directory, "working-directory") \
  PM_CHECK(environment_file, "environment-file") \
  PM_CHECK(settings, "settings")                \
  PM_CHECK(import, "import")                    \
  PM_CHECK(writable, "writable")                \
  PM_CHECK(bind, "bind")                        \
  PM_CHECK(database, "database")                \
  PM_CHECK(notify, "notify")                    \
  PM_CHECK(start_timeout, "start-timeout")      \
  PM_CHECK(worker_timeout, "worker-timeout")    \
  PM_CHECK(restart_limit, "restart-limit")      \
  PM_CHECK(app_checks, "app-checks")            \
  PM_CHECK(migrations, "migrations")

enum class CheckId {
#define PM_CHECK_ENUM(e, name) e,
  PM_DOCTOR_CHECKS(PM_CHECK_ENUM)
#undef PM_CHECK_ENUM
};

// Every check, in the order a start meets them (doctor's order).
inline constexpr CheckId kAllChecks[] = {
#define PM_CHECK_LIST(e, name) CheckId::e,
    PM_DOCTOR_CHECKS(PM_CHECK_LIST)
#undef PM_CHECK_LIST
};

// "working-directory"
constexpr const char* check_name(CheckId id) {
  switch (id) {
#define PM_CHECK_NAME(e, name) \
  case CheckId::e: return name;
    PM_DOCTOR_CHECKS(PM_CHECK_NAME)
#undef PM_CHECK_NAME
  }
  return "?";
}

inline std::optional<CheckId> check_from_name(std::string_view name) {
  for (CheckId id : kAllChecks)
    if (name == check_name(id)) return id;
  return std::nullopt;
}

}  // namespace pm::rules
