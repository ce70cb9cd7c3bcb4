"""Settings of the meats scenario project, read from the environment as real deployments do.

SECRET_KEY   required; missing, it is a KeyError here (a traceback on stderr, the worker fails to boot).
DATABASE_URL required; postgresql://user:password@host:port/dbname?connect_timeout=N
             A unix socket directory goes in the `host` query parameter (?host=/run/postgresql&port=5432)
             or percent-encoded as the host (postgresql://u:p@%2Frun%2Fpostgresql/db); an empty host means
             libpq's default socket directory. Other query parameters (sslmode, ...) are passed to libpq.
"""
import os
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = os.environ.get("MEATS_DEBUG") == "1"
ALLOWED_HOSTS = ["*"]

# Nothing to migrate unless a test asks for apps (MEATS_INSTALLED_APPS="django.contrib.contenttypes ...").
INSTALLED_APPS = os.environ.get("MEATS_INSTALLED_APPS", "").split()
MIDDLEWARE = []
ROOT_URLCONF = "meats.urls"
WSGI_APPLICATION = "meats.wsgi.application"
TEMPLATES = []
USE_TZ = True
TIME_ZONE = "UTC"  # Django's default (America/Chicago) would also set TZ for the whole worker process
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# Where uploads and collected static files go: names of this project's own, so only Django's settings tell them.
MEDIA_ROOT = os.environ.get("MEATS_UPLOADS", "")
STATIC_ROOT = os.environ.get("MEATS_COLLECTED") or None


def database_from_url(url):
    """DATABASES["default"] for a postgresql:// URL (libpq's URI form)."""
    if not url:
        raise ImproperlyConfigured("DATABASE_URL is not set")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(f"DATABASE_URL: unsupported scheme {parts.scheme!r} (want postgresql://)")
    # Split the netloc by hand: urlsplit().hostname lowercases, which breaks socket directory paths.
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if hostport.startswith("["):  # [::1]:5432
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = hostport.partition(":")
    options = dict(parse_qsl(parts.query))
    host = options.pop("host", None) or unquote(host)
    port = options.pop("port", None) or port
    if port and not port.isdigit():
        raise ImproperlyConfigured(f"DATABASE_URL: invalid port {port!r}")
    if "connect_timeout" in options:
        options["connect_timeout"] = int(options["connect_timeout"])
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(user),
        "PASSWORD": unquote(password),
        "HOST": host,  # "" or a directory: a unix socket
        "PORT": port,
        "OPTIONS": options,
    }


DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL"))}

# Errors to stderr even with DEBUG off (Django's default sends them only to mail_admins), as gunicorn deployments
# usually configure, so a failing request leaves its traceback in the service's log.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING"}},
}
