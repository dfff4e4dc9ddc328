"""Issue 12: what `flask demo` prints points where the app serves (HOST and PORT of run-demo.sh)."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from rallies.models import utcnow
from tests.factories import campaign_of

SCRIPT = Path(__file__).resolve().parent.parent.parent / "scripts" / "run-demo.sh"


@pytest.fixture
def served_at(app):
    app.config["BASE_URL"] = "http://127.0.0.1:5050"
    return "http://127.0.0.1:5050"


def test_the_login_line_names_the_login_page_at_the_served_address(served_at):
    from rallies.demo import accounts

    lines = list(accounts.load())
    assert any(line.endswith(f" at {served_at}/auth/login") for line in lines), lines


def test_the_door_link_uses_the_served_address(served_at, make_user, make_rally):
    from rallies.demo.checkins import _door_link

    rally = make_rally(campaign_of(make_user()), starts_at=utcnow() + timedelta(days=2))
    (line,) = list(_door_link(rally))
    assert re.search(rf"{re.escape(served_at)}/door/l/\S+$", line), line


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "http://127.0.0.1:5000"),
    ({"PORT": "5050"}, "http://127.0.0.1:5050"),
    ({"HOST": "192.168.1.20", "PORT": "8080"}, "http://192.168.1.20:8080"),
    ({"BASE_URL": "https://demo.example.org", "PORT": "5050"}, "https://demo.example.org"),
])
def test_run_demo_sets_base_url_from_host_and_port(env, expected):
    (line,) = [x for x in SCRIPT.read_text().splitlines() if x.startswith("export BASE_URL=")]
    clean = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT", "BASE_URL")}
    out = subprocess.run(["bash", "-c", f'{line}; printf %s "$BASE_URL"'], env={**clean, **env},
                         capture_output=True, text=True, check=True).stdout
    assert out == expected
