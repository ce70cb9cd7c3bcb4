"""A Flask app whose request calls an upstream HTTP service with no timeout
(UPSTREAM_URL), as apps calling payment or search APIs do."""
import os
import urllib.request

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "projectmeats is serving\n"


@app.route("/upstream")
def upstream():
    with urllib.request.urlopen(os.environ["UPSTREAM_URL"]) as r:
        return r.read()
