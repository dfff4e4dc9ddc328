"""Rendered pages for anonymous visitors, kept in each worker's memory and keyed by what they show.

A view passes a key that holds every value its template reads (for the ticket page: the
RSVP and rally columns, the waitlist place, whether RSVPs are closed). Equal keys render
equal HTML, so an entry is never stale and nothing has to be invalidated across workers or
hosts: a changed RSVP simply has a new key, and the old entry ages out.

Only visitors with nothing personal on the page are served from the cache: no login (the
nav shows it) and no flashed message. The CSP nonce is the one per-request part of such a
page; the cached copy holds a placeholder, replaced on the way out.

Memory is bounded by ``PAGE_CACHE_MB`` per worker (0 turns the cache off); the oldest
entries go first.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import current_app, g, render_template, request, session

from .security import csp_nonce

#: Unguessable per process, so no text a user typed can contain it.
_PLACEHOLDER = "nonce-" + secrets.token_hex(16)


class PageCache:
    """A byte-bounded LRU of rendered pages: key -> (html, uses_nonce)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[str, bool]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[str, bool] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, entry: tuple[str, bool]) -> None:
        size = len(entry[0])
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[0])
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped[0])

    def __len__(self) -> int:
        return len(self._entries)


def _cache() -> PageCache | None:
    app = current_app
    cache = app.extensions.get("rallies.pagecache")
    if cache is None:
        limit = int(float(app.config.get("PAGE_CACHE_MB", 32)) * 1024 * 1024)
        if limit <= 0:
            return None
        cache = app.extensions.setdefault("rallies.pagecache", PageCache(limit))
    return cache


def _anonymous() -> bool:
    """True when nothing on the page depends on who is asking: no login and no flashed message."""
    if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        return False
    return "_user_id" not in session and "_flashes" not in session


def render(template: str, key: Hashable, context: Callable[[], dict]) -> str:
    """``render_template(template, **context())``, from the cache when the visitor is anonymous.

    ``key`` must determine everything the template shows; ``context`` is only called on a miss.
    """
    cache = _cache()
    if cache is None or "csp_nonce" in g or not _anonymous():
        return render_template(template, **context())
    full_key = (template, key)
    entry = cache.get(full_key)
    if entry is None:
        g.csp_nonce = _PLACEHOLDER
        try:
            html = render_template(template, **context())
        finally:
            g.pop("csp_nonce", None)
        entry = (html, _PLACEHOLDER in html)
        cache.put(full_key, entry)
    html, uses_nonce = entry
    return html.replace(_PLACEHOLDER, csp_nonce()) if uses_nonce else html
