"""The app as deployed without one of its requirements: importing it fails
before the worker boots (gunicorn exits 3)."""
from flask import Flask
import rest_framework  # noqa: F401  (djangorestframework is not installed)

app = Flask(__name__)
