"""An app whose start-up error prints its own secrets without their names,
the way a careless settings check or a logged connection string does: the
worker fails to boot with the SECRET_KEY value, the database password and an
API token in its traceback."""
import os
import sys

from flask import Flask

key = os.environ.get("SECRET_KEY", "")
url = os.environ.get("DATABASE_URL", "")
password = url.split("://", 1)[-1].split("@", 1)[0].split(":", 1)[-1]
token = os.environ.get("API_TOKEN", "")
print(f"settings: key {key} connecting as {password}", file=sys.stderr, flush=True)
raise RuntimeError(f"refusing to start: key {key!r} is the example key, "
                   f"password {password} is too short, token {token} expired")

app = Flask(__name__)
