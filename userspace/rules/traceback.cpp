#include "rules/traceback.h"

#include <map>
#include <regex>

#include "util/strings.h"

namespace pm::rules {

std::optional<std::string> python_error_line(const std::string& output) {
  static const std::regex error_re(R"(^([A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Exit|Interrupt|Warning|ImproperlyConfigured)|HaltServer)(: .*)?$)");
  auto lines = split(output, '\n');
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string line(trim(*it));
    // gunicorn's logger prefixes lines: "[2026-..] [12] [ERROR] ..."; a
    // traceback's error line stands alone.
    if (std::regex_match(line, error_re)) return line;
  }
  return std::nullopt;
}

std::optional<std::string> missing_module(const std::string& output) {
  static const std::regex re(R"((?:ModuleNotFoundError|ImportError): No module named '?([A-Za-z_][A-Za-z0-9_.]*)'?)");
  std::smatch m;
  std::optional<std::string> found;
  auto begin = std::sregex_iterator(output.begin(), output.end(), re);
  for (auto it = begin; it != std::sregex_iterator(); ++it) found = (*it)[1].str();  // the last one
  if (!found) return std::nullopt;
  auto dot = found->find('.');
  return dot == std::string::npos ? *found : found->substr(0, dot);
}

std::string package_for_module(const std::string& module) {
  static const std::map<std::string, std::string> known = {
      {"rest_framework", "djangorestframework"}, {"psycopg2", "psycopg2-binary"},
      {"yaml", "PyYAML"},                        {"PIL", "Pillow"},
      {"dotenv", "python-dotenv"},               {"jwt", "PyJWT"},
      {"MySQLdb", "mysqlclient"},                {"sklearn", "scikit-learn"},
      {"cv2", "opencv-python"},                  {"bs4", "beautifulsoup4"},
      {"dateutil", "python-dateutil"},           {"magic", "python-magic"},
      {"corsheaders", "django-cors-headers"},    {"environ", "django-environ"},
      {"decouple", "python-decouple"},           {"debug_toolbar", "django-debug-toolbar"},
      {"crispy_forms", "django-crispy-forms"},   {"storages", "django-storages"},
      {"flask", "Flask"},                        {"django", "Django"},
      {"flask_sqlalchemy", "Flask-SQLAlchemy"},  {"flask_cors", "Flask-Cors"},
      {"google.protobuf", "protobuf"},           {"Crypto", "pycryptodome"},
      {"OpenSSL", "pyOpenSSL"},                  {"serial", "pyserial"},
      {"attr", "attrs"},                         {"whitenoise", "whitenoise"},
  };
  auto it = known.find(module);
  return it == known.end() ? module : it->second;
}

}  // namespace pm::rules
