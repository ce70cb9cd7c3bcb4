// The one redaction step every output passes through: values of secret-looking
// settings (SECRET_KEY=..., --password ..., *_TOKEN: ...) and the password part
// of URLs (postgres://user:PASSWORD@host) are replaced by "***".
#pragma once

#include <nlohmann/json_fwd.hpp>
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

// Every string in a JSON value, redacted in place (an "argv" array as a
// command line, see redact_argv).
void redact_json(nlohmann::json& j);

// Secret values learned from where they are named (a process's environment,
// its command line, the unit's EnvironmentFile=): from then on redact() also
// hides them where they appear without their name, e.g. in a traceback that
// prints settings.SECRET_KEY. Values shorter than kMinLearnedSecret are not
// learned (they would hide ordinary words). Process-wide; thread-safe.
inline constexpr std::size_t kMinLearnedSecret = 4;
void learn_secret(std::string_view value);
// Learns the values of NAME=VALUE pairs with a secret NAME, and the password
// of every URL among the values (DATABASE_URL=postgres://u:PASSWORD@h/db).
void learn_secrets_from_environ(std::string_view nul_separated);
void learn_secrets_from_argv(const std::vector<std::string>& argv);
void forget_learned_secrets();  // tests

// --no-redact: redaction off, process-wide, for local debugging only.
void set_redaction(bool on);
bool redaction_enabled();

// Whether a variable or option name looks secret (SECRET_KEY, DB_PASSWORD,
// GITHUB_TOKEN, api-key, ...).
bool secret_name(std::string_view name);

}  // namespace pm
