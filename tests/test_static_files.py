"""Static files: gzip from the precompressed sibling when accepted, revalidated by ETag, with the fixed headers."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from rallies.static_files import compress_static

SCANNER = "/static/js/door/scanner.js"


def test_gzip_when_accepted_and_the_same_file_unpacked(client, app):
    plain = client.get(SCANNER)
    packed = client.get(SCANNER, headers={"Accept-Encoding": "gzip, deflate"})
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers and packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data == (Path(app.static_folder) / "js/door/scanner.js").read_bytes()
    assert len(packed.data) < len(plain.data) / 2
    assert "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]


def test_an_unchanged_file_is_a_304_and_revalidated_every_time(client):
    first = client.get(SCANNER, headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]
    again = client.get(SCANNER, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    assert first.headers["Cache-Control"] == "max-age=0, public"  # URLs carry no version: always revalidate
    assert client.get(SCANNER, headers={"If-None-Match": '"other"'}).status_code == 200


def test_static_responses_carry_the_fixed_security_headers(client):
    headers = client.get("/static/css/door.css", headers={"Accept-Encoding": "gzip"}).headers
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert "Access-Control-Allow-Origin" not in headers


def test_missing_and_escaping_paths_are_404s(client):
    assert client.get("/static/js/door/nope.js").status_code == 404
    assert client.get("/static/../config.py").status_code == 404


def test_compress_writes_only_missing_or_stale_siblings(tmp_path):
    (tmp_path / "a.js").write_text("var a = 1;\n" * 200)
    (tmp_path / "b.png").write_bytes(b"\x89PNG" + bytes(2000))
    assert compress_static(tmp_path) == 1 and not (tmp_path / "b.png.gz").exists()
    assert compress_static(tmp_path) == 0  # fresh: not rewritten
    (tmp_path / "a.js").write_text("var a = 2;\n" * 200)
    stale = (tmp_path / "a.js.gz").stat().st_mtime - 10
    os.utime(tmp_path / "a.js.gz", (stale, stale))
    assert compress_static(tmp_path) == 1
    assert gzip.decompress((tmp_path / "a.js.gz").read_bytes()) == (tmp_path / "a.js").read_bytes()
