"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app`` (see the README).

The app is imported once, in the master (preload_app), then ``when_ready`` loads the heavy parts
and the gazetteer there too; workers are forked from that warm master, so a new or restarted
worker serves at once and all of them share those pages copy-on-write. Every value can be
overridden from the environment or the command line.
"""

from __future__ import annotations

import os
import re

from gunicorn.glogging import Logger, SafeAtoms

#: Default worker count is 2 x cores + 1, capped: past a dozen sync workers a host is better split.
MAX_DEFAULT_WORKERS = 12


def _workers() -> int:
    value = os.environ.get("WEB_CONCURRENCY", "").strip()
    if not value:
        return min(2 * (os.cpu_count() or 1) + 1, MAX_DEFAULT_WORKERS)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"WEB_CONCURRENCY must be a whole number of workers (1 or more), not {value!r}")
    return int(value)


bind = [os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"]
workers = _workers()
#: More than 1 switches gunicorn to threaded workers (gthread).
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
preload_app = True
#: A worker silent this long is killed and replaced (the longest request is a CSV export).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
#: On restart or scale-down, requests in flight get this long to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
#: Proxies whose X-Forwarded-Proto gunicorn trusts (the app's own PROXY_FIX_HOPS trusts the same hop).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'

#: Path segments that are secrets (ticket, door-link, password-reset and invite tokens).
_SECRET_PATH = re.compile(r"(/(?:t|l|reset|invite)/)[^/?#\s\"]+")


class RedactedAtoms(SafeAtoms):
    """gunicorn's log atoms, each with token path segments replaced by "…" as the log format reads it.

    Every text atom is redacted (the URL also appears as %(U)s, the Referer, and {raw_uri}e-style environ
    atoms), but only the few a format line names are ever read, so only those are searched.
    """

    def __getitem__(self, key):
        value = super().__getitem__(key)
        return _SECRET_PATH.sub(r"\1…", value) if isinstance(value, str) else value


class RedactingLogger(Logger):
    """The access log without the secret tokens some URLs carry (secrets never reach logs)."""

    atoms_wrapper_class = RedactedAtoms


logger_class = RedactingLogger


def when_ready(server) -> None:
    """In the master, after the app is loaded and before any worker forks: warm what workers share."""
    from rallies import warm_up

    warm_up()


def post_fork(server, worker) -> None:
    """In each new worker: drop any pooled database connection inherited from the master (SQLAlchemy's
    fork recipe; the master opens none, this keeps it so if a hook ever does)."""
    from rallies.extensions import db

    with worker.app.wsgi().app_context():
        db.engine.dispose(close=False)
