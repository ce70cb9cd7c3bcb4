"""The module imports, but the app spec names an attribute it does not have
(gunicorn exits 4)."""
from flask import Flask

application_object = Flask(__name__)
