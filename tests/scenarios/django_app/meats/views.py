"""Views of the meats scenario project: healthy, database-bound, and stalled ones."""
import os
import urllib.request

from django.db import connection
from django.http import HttpResponse


def index(request):
    return HttpResponse("projectmeats is serving\n", content_type="text/plain")


def db(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    return HttpResponse(f"db ok {one}\n", content_type="text/plain")


def slow_db(request):
    # Longer than gunicorn's default 30 s worker timeout.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(60)")
    return HttpResponse("slow db done\n", content_type="text/plain")


def upstream(request):
    # No timeout, as apps calling payment or search APIs often do: a stalled upstream blocks the worker.
    with urllib.request.urlopen(os.environ["UPSTREAM_URL"], timeout=None) as r:
        return HttpResponse(r.read(), content_type="text/plain")
