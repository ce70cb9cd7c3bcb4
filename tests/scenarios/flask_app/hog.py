"""A Flask app with a request that keeps allocating memory (a leak, an
unbounded query result loaded at once), for the OOM scenario."""
from flask import Flask

app = Flask(__name__)
_held = []


@app.route("/")
def index():
    return "projectmeats is serving\n"


@app.route("/hog")
def hog():
    for _ in range(2000):
        _held.append(bytearray(1 << 20))  # touched: bytearray zero-fills
    return "held %d MiB\n" % len(_held)
