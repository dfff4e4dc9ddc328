"""Static files through WhiteNoise: gzip variants built once, served with ETag/Last-Modified and 304s.

Flask's own static route sends every file uncompressed; on a slow phone the door scanner's scripts
then take most of a second on the wire. WhiteNoise serves a file's ``.gz`` sibling to clients that
accept gzip, so nothing is compressed per request. The siblings are written beside the files when
missing or older than them (a deploy's first start); where the folder is read-only the files are
served as they are.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

log = logging.getLogger(__name__)


def compress_static(root: Path) -> int:
    """Write a ``.gz`` beside every compressible file under root that lacks a fresh one; return how many."""
    compressor = Compressor(use_brotli=False, quiet=True)
    written = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            if name.endswith(".gz") or not compressor.should_compress(name):
                continue
            gz = path + ".gz"
            if os.path.exists(gz) and os.path.getmtime(gz) >= os.path.getmtime(path):
                continue
            written += len(compressor.compress(path))
    return written


def init_app(app: Flask, security_headers: tuple[tuple[str, str], ...]) -> None:
    """Serve app.static_folder at app.static_url_path through WhiteNoise, in front of the app."""
    root = Path(app.static_folder)
    if app.config.get("COMPRESS_STATIC"):
        try:
            compress_static(root)
        except OSError as exc:  # a read-only deploy: serve the files uncompressed
            log.warning("static files not compressed: %s", exc)

    def add_headers(headers, path, url):
        for name, value in security_headers:
            headers.setdefault(name, value)

    # max_age=0: URLs carry no version, so browsers revalidate (a 304 when unchanged), as before.
    app.wsgi_app = WhiteNoise(app.wsgi_app, root=str(root), prefix=app.static_url_path.strip("/") + "/",
                              max_age=0, allow_all_origins=False, add_headers_function=add_headers)
