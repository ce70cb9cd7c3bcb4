"""WSGI entry point of the meats scenario project (gunicorn meats.wsgi:application).

PM_CONNECT_AT_IMPORT=1 opens a database connection at import time, as apps with startup
checks do, so a refused or stalled database fails the worker boot.
"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meats.settings")

application = get_wsgi_application()

if os.environ.get("PM_CONNECT_AT_IMPORT") == "1":
    from django.db import connection

    connection.ensure_connection()  # raises OperationalError (refused, timeout, bad password)
    connection.close()  # a check only: each request opens its own connection
