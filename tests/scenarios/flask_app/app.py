"""A small healthy Flask app, served by gunicorn in the scenario tests."""
from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "projectmeats is serving\n"
