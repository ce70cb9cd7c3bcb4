"""A small service that fails to start the way web services do.

It reads its settings from the environment, opens its log file, connects to
its database, and only then would serve. Each step can fail; run under
pmtrace to see which one did, from the kernel's point of view.
"""
import os
import socket
import sys
from urllib.parse import urlparse


def open_log():
    path = os.environ.get("DEMO_LOG", "/var/log/demo/app.log")
    try:
        return open(path, "a")
    except PermissionError as e:
        print(f"warning: cannot write log file: {e}; logging to stderr", file=sys.stderr)
        return sys.stderr


def connect_db():
    url = urlparse(os.environ["DATABASE_URL"])
    sock = socket.create_connection((url.hostname, url.port or 5432), timeout=3)
    return sock


def main():
    log = open_log()
    print("demo: settings loaded, connecting to the database", file=log, flush=True)
    connect_db()
    print("demo: serving", file=log, flush=True)


if __name__ == "__main__":
    main()
