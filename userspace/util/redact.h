// The one redaction step every output passes through: values of secret-looking
// settings (SECRET_KEY=..., --password ..., *_TOKEN: ...) and the password part
// of URLs (postgres://user:PASSWORD@host) are replaced by "***".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pm {

inline constexpr std::string_view kRedacted = "***";

std::string redact(std::string_view text);

// A command line, argument by argument: NAME=VALUE with a secret NAME hides
// the whole value (spaces included), an option such as --password hides the
// next argument, and every argument is redacted as text (URL passwords).
// Redact before joining or cutting: a cut URL no longer matches.
std::vector<std::string> redact_argv(const std::vector<std::string>& argv);

// Whether a variable or option name looks secret (SECRET_KEY, DB_PASSWORD,
// GITHUB_TOKEN, api-key, ...).
bool secret_name(std::string_view name);

}  // namespace pm
