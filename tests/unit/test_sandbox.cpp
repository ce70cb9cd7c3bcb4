// analysis::sandbox_blocks_write: what systemd.exec(5)'s ProtectSystem=,
// ProtectHome=, PrivateTmp= and ReadWritePaths= leave writable.
#include <catch2/catch.hpp>

#include "analysis/unit_context.h"

using pm::analysis::sandbox_blocks_write;

TEST_CASE("sandbox: ProtectSystem= levels", "[sandbox]") {
  CHECK(sandbox_blocks_write("no", "no", false, {}, "/usr/lib/x") == "");
  CHECK(sandbox_blocks_write("yes", "no", false, {}, "/usr/lib/x") == "ProtectSystem=yes");
  CHECK(sandbox_blocks_write("yes", "no", false, {}, "/etc/app.conf") == "");
  CHECK(sandbox_blocks_write("full", "no", false, {}, "/etc/app.conf") == "ProtectSystem=full");
  CHECK(sandbox_blocks_write("full", "no", false, {}, "/opt/app/log/e.log") == "");
  CHECK(sandbox_blocks_write("strict", "no", false, {}, "/opt/app/log/e.log") == "ProtectSystem=strict");
  CHECK(sandbox_blocks_write("strict", "no", false, {}, "/dev/shm/x") == "");
  CHECK(sandbox_blocks_write("strict", "no", false, {}, "/tmp/wgunicorn-x") == "ProtectSystem=strict");
  CHECK(sandbox_blocks_write("strict", "no", true, {}, "/tmp/wgunicorn-x") == "");
}

TEST_CASE("sandbox: ReadWritePaths= and *Directory= open paths again, ProtectHome=", "[sandbox]") {
  CHECK(sandbox_blocks_write("strict", "no", false, {"/opt/app/log"}, "/opt/app/log/e.log") == "");
  CHECK(sandbox_blocks_write("strict", "no", false, {"-/opt/app/log/"}, "/opt/app/log/e.log") == "");
  // A prefix of a name is not its directory.
  CHECK(sandbox_blocks_write("strict", "no", false, {"/opt/app/log"}, "/opt/app/logs/e.log") == "ProtectSystem=strict");
  CHECK(sandbox_blocks_write("strict", "no", false, {"/var/log/app"}, "/var/log/app/e.log") == "");
  CHECK(sandbox_blocks_write("no", "yes", false, {}, "/home/app/site/media/x") == "ProtectHome=yes");
  CHECK(sandbox_blocks_write("no", "read-only", false, {}, "/root/x") == "ProtectHome=read-only");
  CHECK(sandbox_blocks_write("no", "yes", false, {"/home/app/site/media"}, "/home/app/site/media/x") == "");
}
