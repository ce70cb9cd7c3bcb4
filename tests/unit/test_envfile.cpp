// target/envfile.h: reading an EnvironmentFile= the way systemd's parser in
// src/basic/env-file.c does (with the name rule from src/basic/env-util.c and
// the dropping of invalid names in src/core/execute.c), and the issues reported
// where that reading differs from what the author meant.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "target/envfile.h"

using pm::target::EnvFile;
using pm::target::EnvFileIssue;
using pm::target::parse_env_file;

namespace {

std::optional<std::string> var(const EnvFile& f, const std::string& key) {
  for (const auto& v : f.vars)
    if (v.key == key) return v.value;
  return std::nullopt;
}

int var_line(const EnvFile& f, const std::string& key) {
  for (const auto& v : f.vars)
    if (v.key == key) return v.line;
  return 0;
}

std::vector<EnvFileIssue> issues_on(const EnvFile& f, int line) {
  std::vector<EnvFileIssue> out;
  for (const auto& i : f.issues)
    if (i.line == line) out.push_back(i);
  return out;
}

bool mentions(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The one issue on `line`; fails the test when there is not exactly one.
EnvFileIssue only_issue(const EnvFile& f, int line) {
  auto v = issues_on(f, line);
  REQUIRE(v.size() == 1);
  return v[0];
}

}  // namespace

TEST_CASE("envfile: plain, quoted and empty assignments raise nothing", "[envfile]") {
  auto f = parse_env_file(
      "PLAIN=value\n"
      "DQ=\"quoted value\"\n"
      "SQ='single'\n"
      "EMPTY=\n"
      "lower_case=ok\n"
      "_UNDERSCORE1=x\n"
      "URL=postgres://u:p@h:5432/db?a=b#frag\n");
  CHECK(f.issues.empty());
  CHECK(var(f, "PLAIN") == "value");
  CHECK(var(f, "DQ") == "quoted value");
  CHECK(var(f, "SQ") == "single");
  CHECK(var(f, "EMPTY") == "");
  CHECK(var(f, "lower_case") == "ok");
  CHECK(var(f, "_UNDERSCORE1") == "x");
  CHECK(var(f, "URL") == "postgres://u:p@h:5432/db?a=b#frag");
  REQUIRE(f.vars.size() == 7);
  CHECK(f.vars[0].key == "PLAIN");
  CHECK(f.vars[6].key == "URL");
}

TEST_CASE("envfile: comments and blank lines are skipped and still counted as lines", "[envfile]") {
  auto f = parse_env_file(
      "# a comment\n"
      "; another comment\n"
      "\n"
      "   # indented comment\n"
      "\t\n"
      "A=1\n"
      "# B=2\n");
  CHECK(f.issues.empty());
  REQUIRE(f.vars.size() == 1);
  CHECK(var(f, "A") == "1");
  CHECK(var_line(f, "A") == 6);
  CHECK_FALSE(var(f, "B"));
}

TEST_CASE("envfile: whitespace around name and value is trimmed, as the author meant", "[envfile]") {
  auto f = parse_env_file(
      "KEY = value\n"
      "  INDENTED=x  \n"
      "TABS\t=\tv w\t\n"
      "KEEP=\"  padded  \"\n");
  CHECK(f.issues.empty());
  CHECK(var(f, "KEY") == "value");
  CHECK(var(f, "INDENTED") == "x");
  CHECK(var(f, "TABS") == "v w");
  CHECK(var(f, "KEEP") == "  padded  ");
}

TEST_CASE("envfile: a trailing backslash joins the next line as intended", "[envfile]") {
  auto f = parse_env_file(
      "OPTS=--workers 4 \\\n"
      "--timeout 30\n"
      "NEXT=1\n");
  CHECK(f.issues.empty());
  CHECK(var(f, "OPTS") == "--workers 4 --timeout 30");
  CHECK(var(f, "NEXT") == "1");
  CHECK(var_line(f, "NEXT") == 3);
}

TEST_CASE("envfile: escapes inside double quotes follow systemd", "[envfile]") {
  auto f = parse_env_file(
      "A=\"say \\\"hi\\\" \\$HOME \\\\ \\n\"\n"
      "B=\"one \\\n"
      "two\"\n"
      "C='no \\escapes \"here\"'\n"
      "D=a\\ b\n");
  CHECK(f.issues.empty());
  CHECK(var(f, "A") == "say \"hi\" $HOME \\ \\n");  // \n stays a backslash and an n
  CHECK(var(f, "B") == "one two");
  CHECK(var(f, "C") == "no \\escapes \"here\"");
  CHECK(var(f, "D") == "a b");
}

TEST_CASE("envfile: export KEY=value is ignored by systemd, correction drops export", "[envfile]") {
  auto f = parse_env_file("export SECRET_KEY=s3cr3t\nOTHER=1\n");
  CHECK_FALSE(var(f, "SECRET_KEY"));
  CHECK_FALSE(var(f, "export SECRET_KEY"));
  CHECK(var(f, "OTHER") == "1");
  auto i = only_issue(f, 1);
  CHECK(i.key == "SECRET_KEY");
  CHECK(i.text == "export SECRET_KEY=s3cr3t");
  CHECK(i.corrected == "SECRET_KEY=s3cr3t");
  CHECK(mentions(i.problem, "'export SECRET_KEY' is not a valid variable name"));
  CHECK_FALSE(mentions(i.problem, "s3cr3t"));
  CHECK(issues_on(f, 2).empty());
}

TEST_CASE("envfile: KEY==value gives a value starting with '='", "[envfile]") {
  auto f = parse_env_file("DATABASE_URL==postgres://db/app\n");
  CHECK(var(f, "DATABASE_URL") == "=postgres://db/app");
  auto i = only_issue(f, 1);
  CHECK(i.key == "DATABASE_URL");
  CHECK(mentions(i.problem, "starts with '='"));
  CHECK_FALSE(mentions(i.problem, "postgres"));
  CHECK(i.corrected == "DATABASE_URL=postgres://db/app");
}

TEST_CASE("envfile: names with a dash or a leading digit are ignored, no correction", "[envfile]") {
  auto f = parse_env_file("MY-KEY=v\n1KEY=v\nGOOD=v\n");
  CHECK(f.vars.size() == 1);
  CHECK(var(f, "GOOD") == "v");
  auto dash = only_issue(f, 1);
  CHECK(dash.key == "MY-KEY");
  CHECK(mentions(dash.problem, "'MY-KEY' is not a valid variable name"));
  CHECK(dash.corrected.empty());
  auto digit = only_issue(f, 2);
  CHECK(digit.key == "1KEY");
  CHECK(mentions(digit.problem, "not start with a digit"));
  CHECK(digit.corrected.empty());
}

TEST_CASE("envfile: a quoted name is repaired", "[envfile]") {
  auto f = parse_env_file("\"API_KEY\"=abc\n");
  CHECK(f.vars.empty());
  auto i = only_issue(f, 1);
  CHECK(i.key == "API_KEY");
  CHECK(i.corrected == "API_KEY=abc");
}

TEST_CASE("envfile: lines without '=' are dropped silently", "[envfile]") {
  auto f = parse_env_file("JUST_A_NAME\nNAME: value here\nsome free text\nA=1\n");
  REQUIRE(f.vars.size() == 1);
  CHECK(var(f, "A") == "1");
  auto bare = only_issue(f, 1);
  CHECK(bare.key == "JUST_A_NAME");
  CHECK(mentions(bare.problem, "no '='"));
  CHECK(bare.corrected.empty());
  auto yaml = only_issue(f, 2);
  CHECK(yaml.key == "NAME");
  CHECK(yaml.corrected == "NAME=value here");
  CHECK_FALSE(mentions(yaml.problem, "value here"));
  auto text = only_issue(f, 3);
  CHECK(text.key.empty());
  CHECK(text.text == "some free text");
  CHECK_FALSE(mentions(text.problem, "free text"));
}

TEST_CASE("envfile: an unterminated double quote swallows the rest of the file", "[envfile]") {
  auto f = parse_env_file(
      "DB_PASSWORD=\"hunter2\n"
      "DB_HOST=localhost\n"
      "DB_PORT=5432\n");
  REQUIRE(f.vars.size() == 1);
  CHECK(var(f, "DB_PASSWORD") == "hunter2\nDB_HOST=localhost\nDB_PORT=5432\n");
  CHECK_FALSE(var(f, "DB_HOST"));
  auto i = only_issue(f, 1);
  CHECK(i.key == "DB_PASSWORD");
  CHECK(mentions(i.problem, "unterminated double quote: systemd reads everything up to the end of the file into "
                            "DB_PASSWORD"));
  CHECK(mentions(i.problem, "DB_HOST, DB_PORT"));
  CHECK_FALSE(mentions(i.problem, "hunter2"));
  CHECK(i.corrected == "DB_PASSWORD=\"hunter2\"");
  CHECK(issues_on(f, 2).empty());
}

TEST_CASE("envfile: an unterminated quote that another line's quote closes", "[envfile]") {
  auto f = parse_env_file(
      "SECRET_KEY=\"abc\n"
      "NAME=\"web\"\n"
      "LAST=1\n");
  // The quote opening NAME's value closes SECRET_KEY's; the rest of line 2 is
  // bare text with a literal quote.
  CHECK(var(f, "SECRET_KEY") == "abc\nNAME=web\"");
  CHECK_FALSE(var(f, "NAME"));
  CHECK(var(f, "LAST") == "1");
  auto i = only_issue(f, 1);
  CHECK(mentions(i.problem, "lines 1-2"));
  CHECK(mentions(i.problem, "NAME"));
  CHECK(i.corrected == "SECRET_KEY=\"abc\"");
  CHECK(issues_on(f, 2).empty());
}

TEST_CASE("envfile: an unterminated single quote", "[envfile]") {
  auto f = parse_env_file("TOKEN='abc\nUSER=bob\n");
  CHECK(var(f, "TOKEN") == "abc\nUSER=bob\n");
  auto i = only_issue(f, 1);
  CHECK(mentions(i.problem, "unterminated single quote"));
  CHECK(i.corrected == "TOKEN='abc'");
}

TEST_CASE("envfile: a multi-line quoted value that closes is left alone", "[envfile]") {
  auto f = parse_env_file(
      "TLS_KEY=\"-----BEGIN PRIVATE KEY-----\n"
      "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC==\n"
      "QUJDRA=\n"
      "-----END PRIVATE KEY-----\"\n"
      "NEXT=1\n");
  CHECK(f.issues.empty());
  CHECK(var(f, "TLS_KEY") ==
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC==\nQUJDRA=\n-----END PRIVATE KEY-----");
  CHECK(var_line(f, "NEXT") == 5);
}

TEST_CASE("envfile: a quote in the middle of a bare value is an ordinary character", "[envfile]") {
  auto f = parse_env_file(
      "KEY=abc\"def\n"
      "TRAIL=abc\"\n"
      "JSON={\"a\":\"b\"}\n"
      "GREETING=it's fine\n");
  CHECK(var(f, "KEY") == "abc\"def");
  CHECK(var(f, "TRAIL") == "abc\"");
  CHECK(var(f, "JSON") == "{\"a\":\"b\"}");
  CHECK(var(f, "GREETING") == "it's fine");
  auto stray = only_issue(f, 1);
  CHECK(stray.key == "KEY");
  CHECK(mentions(stray.problem, "ordinary character"));
  CHECK(stray.corrected == "KEY='abc\"def'");
  auto trail = only_issue(f, 2);
  CHECK(trail.corrected == "TRAIL=\"abc\"");
  CHECK(issues_on(f, 3).empty());
  CHECK(issues_on(f, 4).empty());
}

TEST_CASE("envfile: an inline comment stays in the value", "[envfile]") {
  auto f = parse_env_file(
      "WORKERS=4 # per core\n"
      "MODE=\"prod\" # comment\n"
      "NONE= # nothing\n"
      "COLOR=#fff\n");
  CHECK(var(f, "WORKERS") == "4 # per core");
  CHECK(var(f, "MODE") == "prod# comment");
  CHECK(var(f, "NONE") == "# nothing");
  CHECK(var(f, "COLOR") == "#fff");
  auto bare = only_issue(f, 1);
  CHECK(mentions(bare.problem, "keeps the '#' comment in the value of WORKERS"));
  CHECK(bare.corrected == "WORKERS=4");
  auto quoted = only_issue(f, 2);
  CHECK(mentions(quoted.problem, "after the closing quote"));
  CHECK(quoted.corrected == "MODE=\"prod\"");
  CHECK(only_issue(f, 3).corrected == "NONE=");
  CHECK(issues_on(f, 4).empty());
}

TEST_CASE("envfile: text after a closing quote loses the space before it", "[envfile]") {
  auto f = parse_env_file("GREETING=\"hello\" world\nJOINED=\"a\"'b'c\n");
  CHECK(var(f, "GREETING") == "helloworld");
  CHECK(var(f, "JOINED") == "abc");
  auto i = only_issue(f, 1);
  CHECK(mentions(i.problem, "drops the whitespace"));
  CHECK(issues_on(f, 2).empty());
}

TEST_CASE("envfile: CRLF line endings are line breaks to systemd, except inside quotes", "[envfile]") {
  SECTION("single-line values carry no carriage return") {
    auto f = parse_env_file("A=1\r\nB=\"two\"\r\nC='three'\r\n# note\r\n\r\nD=\r\n");
    CHECK(f.issues.empty());
    CHECK(var(f, "A") == "1");
    CHECK(var(f, "B") == "two");
    CHECK(var(f, "C") == "three");
    CHECK(var(f, "D") == "");
    CHECK(var_line(f, "D") == 6);
  }
  SECTION("a continuation is broken by CRLF") {
    auto f = parse_env_file("OPTS=--a \\\r\n--b\r\nX=1\r\n");
    CHECK(var(f, "OPTS") == "--a ");  // the backslash reset the trailing-blank cut, as in systemd
    CHECK(var(f, "X") == "1");
    auto i = only_issue(f, 1);
    CHECK(i.key == "OPTS");
    CHECK(mentions(i.problem, "CRLF"));
    CHECK(mentions(i.problem, "line 2 on its own"));
    CHECK(issues_on(f, 2).empty());  // reported with line 1
  }
  SECTION("a quoted multi-line value keeps the carriage returns") {
    auto f = parse_env_file("CERT=\"line1\r\nline2\"\r\n");
    CHECK(var(f, "CERT") == "line1\r\nline2");
    auto i = only_issue(f, 1);
    CHECK(mentions(i.problem, "carriage returns"));
  }
  SECTION("a continuation inside double quotes keeps the backslash") {
    auto f = parse_env_file("Q=\"a\\\r\nb\"\r\n");
    CHECK(var(f, "Q") == "a\\\r\nb");
    auto i = only_issue(f, 1);
    CHECK(mentions(i.problem, "keeps the backslash"));
  }
}

TEST_CASE("envfile: a UTF-8 byte order mark hides the first variable", "[envfile]") {
  auto f = parse_env_file("\xEF\xBB\xBFKEY=v\nB=2\n");
  CHECK_FALSE(var(f, "KEY"));
  CHECK(var(f, "B") == "2");
  auto i = only_issue(f, 1);
  CHECK(i.key == "KEY");
  CHECK(mentions(i.problem, "byte order mark"));
  CHECK(i.corrected == "KEY=v");

  auto comment = parse_env_file("\xEF\xBB\xBF# comment\nB=2\n");
  CHECK(comment.issues.empty());
  CHECK(var(comment, "B") == "2");
}

TEST_CASE("envfile: backslashes in a bare value are dropped", "[envfile]") {
  auto f = parse_env_file("PASSWORD=ab\\cd\nPATHS=C:\\temp\nSPACED=a\\ b\n");
  CHECK(var(f, "PASSWORD") == "abcd");
  CHECK(var(f, "PATHS") == "C:temp");
  auto i = only_issue(f, 1);
  CHECK(mentions(i.problem, "drops backslashes"));
  CHECK(i.corrected == "PASSWORD='ab\\cd'");
  CHECK(only_issue(f, 2).corrected == "PATHS='C:\\temp'");
  CHECK(issues_on(f, 3).empty());
}

TEST_CASE("envfile: a trailing backslash that swallows the next assignment", "[envfile]") {
  auto f = parse_env_file("PASS=abc\\\nUSER=bob\n");
  CHECK(var(f, "PASS") == "abcUSER=bob");
  CHECK_FALSE(var(f, "USER"));
  auto i = only_issue(f, 1);
  CHECK(mentions(i.problem, "joins line 2"));
  CHECK(mentions(i.problem, "USER"));
  CHECK(i.corrected == "PASS='abc\\'");
}

TEST_CASE("envfile: a later assignment replaces an earlier one", "[envfile]") {
  auto f = parse_env_file("A=1\nB=2\nA=3\n");
  REQUIRE(f.vars.size() == 2);
  CHECK(f.vars[0].key == "A");  // keeps its first position
  CHECK(f.vars[0].value == "3");
  CHECK(f.vars[0].line == 3);
  auto i = only_issue(f, 1);
  CHECK(i.key == "A");
  CHECK(mentions(i.problem, "line 3"));
  CHECK(issues_on(f, 3).empty());
}

TEST_CASE("envfile: variable references are not expanded", "[envfile]") {
  auto f = parse_env_file("P=${HOME}/bin:$PATH\nQ=\"\\$HOME\"\nR=pa$sword\n");
  CHECK(var(f, "P") == "${HOME}/bin:$PATH");
  auto i = only_issue(f, 1);
  CHECK(mentions(i.problem, "'${HOME}', '$PATH'"));
  CHECK(issues_on(f, 2).empty());
  CHECK(issues_on(f, 3).empty());
}

TEST_CASE("envfile: invalid UTF-8 or a NUL byte makes systemd refuse the file", "[envfile]") {
  auto utf8 = parse_env_file("A=1\nB=\xC3\x28\nC=3\n");
  CHECK(utf8.vars.empty());
  auto i = only_issue(utf8, 2);
  CHECK(i.key == "B");
  CHECK(mentions(i.problem, "refuses the whole file"));

  auto overlong = parse_env_file("A=\xC0\xAF\n");
  CHECK(overlong.vars.empty());
  CHECK(only_issue(overlong, 1).key == "A");

  auto surrogate = parse_env_file("A=\xED\xA0\x80\n");  // U+D800 encoded directly
  CHECK(surrogate.vars.empty());
  CHECK(only_issue(surrogate, 1).key == "A");

  auto fine = parse_env_file("NAME=Jos\xC3\xA9\n");
  CHECK(fine.issues.empty());
  CHECK(var(fine, "NAME") == "Jos\xC3\xA9");

  auto nul = parse_env_file(std::string("A=1\nB=x\0y\n", 10));
  CHECK(nul.vars.empty());
  CHECK(mentions(only_issue(nul, 2).problem, "NUL"));
}

TEST_CASE("envfile: a comment ending in a backslash before an assignment", "[envfile]") {
  auto f = parse_env_file("# old setting \\\nA=1\n");
  CHECK(var(f, "A") == "1");  // read since v254
  auto i = only_issue(f, 1);
  CHECK(i.key == "A");
  CHECK(mentions(i.problem, "before v254"));
  CHECK(i.corrected == "# old setting");
}

TEST_CASE("envfile: issues are in line order and never carry the value", "[envfile]") {
  const std::string secret = "Sup3rS3cret";
  auto f = parse_env_file("export A=" + secret + "\nB==" + secret + "\nC=" + secret + " # x\nD=\"" + secret + "\n");
  REQUIRE(f.issues.size() == 4);
  for (std::size_t k = 0; k < f.issues.size(); ++k) {
    CHECK(f.issues[k].line == static_cast<int>(k) + 1);
    CHECK_FALSE(mentions(f.issues[k].problem, secret));
  }
}
