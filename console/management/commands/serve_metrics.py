"""`python manage.py serve_metrics [--bind HOST:PORT]`: `GET /metrics` without authentication on
a separate bind address (METRICS_BIND, default 127.0.0.1:9464), for a Prometheus that reaches
the host on a private network instead of using a token (docs/operability.md).

Run it beside gunicorn with the same PROMETHEUS_MULTIPROC_DIR: it sums the same workers' files,
plus the database-derived gauges. Only `/metrics` answers; anything else is 404. Never bind it
to a public address: it has no authentication."""

from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from prometheus_client import CONTENT_TYPE_LATEST

from onboarding import metrics


def application(environ, start_response):
    if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") not in (
        "GET",
        "HEAD",
    ):
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Only GET /metrics is served here.\n"]
    try:
        body = metrics.exposition()
    finally:
        close_old_connections()  # a long-lived process: never keep a dead connection
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # scrapes every few seconds are not news
        return


class Command(BaseCommand):
    help = "Serve GET /metrics without authentication on METRICS_BIND (a private address)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=settings.METRICS_BIND, help="HOST:PORT")

    def handle(self, *args, bind: str, **options):
        host, _, port = bind.rpartition(":")
        if not host or not port.isdigit():
            raise CommandError(f"--bind must be HOST:PORT, got {bind!r}")
        server = make_server(host.strip("[]"), int(port), application, handler_class=_QuietHandler)
        self.stdout.write(f"metrics at http://{bind}/metrics", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        finally:
            server.server_close()
