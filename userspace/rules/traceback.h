// Reading Python tracebacks out of captured stderr.
#pragma once

#include <optional>
#include <string>

namespace pm::rules {

// The last "SomeError: message" line of a traceback in `output`, if any.
std::optional<std::string> python_error_line(const std::string& output);

// The module in "ModuleNotFoundError: No module named 'x.y'" or
// "ImportError: No module named x": its top-level name ("x").
std::optional<std::string> missing_module(const std::string& output);

// The pip package that provides an import name (rest_framework ->
// djangorestframework); the import name itself when no mapping is known.
std::string package_for_module(const std::string& module);

// The fix for a missing module: the pip command for that interpreter.
std::string pip_install_fix(const std::string& python, const std::string& module);

}  // namespace pm::rules
