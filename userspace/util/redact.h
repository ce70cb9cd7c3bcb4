// The one redaction step every output passes through: values of secret-looking
// settings (SECRET_KEY=..., --password ..., *_TOKEN: ...) and the password part
// of URLs (postgres://user:PASSWORD@host) are replaced by "***".
#pragma once

#include <string>
#include <string_view>

namespace pm {

inline constexpr std::string_view kRedacted = "***";

std::string redact(std::string_view text);

// Whether a variable or option name looks secret (SECRET_KEY, DB_PASSWORD,
// GITHUB_TOKEN, api-key, ...).
bool secret_name(std::string_view name);

}  // namespace pm
