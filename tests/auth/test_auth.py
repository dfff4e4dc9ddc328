"""Organizer accounts through the test client: sign-up, login, logout, reset, change, limits, CSRF, CLI."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from itsdangerous import TimestampSigner

from rallies.auth.passwords import password_problem
from rallies.extensions import db
from rallies.models import Campaign, Membership, OutboxMessage, User
from tests.stored import outbox

GOOD = "correct horse battery"
NEW = "maple syrup tractor 42"


def text_body(message: OutboxMessage) -> str:
    """The decoded text/plain part of a queued message."""
    parsed = email.message_from_bytes(message.body, policy=email.policy.default)
    return parsed.get_body(preferencelist=("plain",)).get_content()


def link_path(message: OutboxMessage, prefix: str) -> str:
    """The path of the first http://localhost<prefix>... link in the message's text."""
    found = re.search(r"http://localhost(" + re.escape(prefix) + r"[^\s]+)", text_body(message))
    assert found, text_body(message)
    return found.group(1)


def field_error(html: str, field: str) -> str:
    """The error text shown next to a field (empty if none)."""
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    return found.group(1).strip() if found else ""


def signup(client, **fields):
    data = {"name": "Ann Lee", "email": "ann@example.org", "password": GOOD, "campaign_name": "Ann for Mayor"}
    data.update(fields)
    return client.post("/auth/signup", data=data)


def logged_in(client) -> bool:
    """True if the client's session reaches the organizer dashboard."""
    return client.get("/organize/").status_code == 200


# -------------------------------------------------------------------------------------------- sign up


def test_signup_creates_owner_of_campaign_and_logs_in(client):
    resp = signup(client, email="  Ann@Example.ORG ")
    assert resp.status_code == 302
    assert resp.location.endswith("/organize/")
    user = db.session.scalar(db.select(User).where(User.email == "ann@example.org"))
    assert user.name == "Ann Lee"
    assert user.password_hash != GOOD and GOOD not in user.password_hash
    membership = db.session.scalar(db.select(Membership).where(Membership.user_id == user.id))
    assert (membership.role, membership.campaign.name) == ("owner", "Ann for Mayor")
    assert logged_in(client)


def test_signup_page_links_login(client):
    resp = client.get("/auth/signup")
    assert resp.status_code == 200
    assert b'href="/auth/login' in resp.data


def test_signup_duplicate_email(client, make_user):
    make_user(email="ann@example.org")
    resp = signup(client, email="ANN@example.org")
    assert resp.status_code == 400
    assert field_error(resp.text, "email") == "An account with that email already exists."
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1
    assert db.session.scalar(db.select(db.func.count(Campaign.id))) == 1


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1!", "Use at least 10 characters."),
        ("qwertyuiop", "That password is too common. Choose another."),
        ("Sunshine2024!", "That password is too common. Choose another."),
        ("football1234", "That password is too common. Choose another."),
        ("aaaaaaaaaaaaa", "That password repeats too few characters. Choose another."),
        ("annlee-rocks-hard", "Do not use your email address or name in your password."),
        ("x" * 201, "Use at most 200 characters."),
    ],
)
def test_signup_password_rules_shown_next_to_field(client, password, message):
    resp = signup(client, password=password)
    assert resp.status_code == 400
    assert field_error(resp.text, "password") == message
    assert 'aria-invalid="true"' in resp.text
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_signup_empty_fields_get_messages(client):
    resp = client.post("/auth/signup", data={"name": "", "email": "", "password": "", "campaign_name": "  "})
    assert resp.status_code == 400
    assert field_error(resp.text, "name") == "Enter your name."
    assert field_error(resp.text, "email") == "Enter your email."
    assert field_error(resp.text, "password") == "Choose a password."
    assert field_error(resp.text, "campaign_name") == "Name your campaign."


def test_signup_overlong_and_malformed_fields_get_messages(client):
    resp = signup(client, name="n" * 121, email="not-an-email", campaign_name="c" * 121)
    assert resp.status_code == 400
    assert field_error(resp.text, "name") == "Use at most 120 characters."
    assert field_error(resp.text, "email") == "Enter a valid email address."
    assert field_error(resp.text, "campaign_name") == "Use at most 120 characters."
    resp = signup(client, email="a" * 250 + "@example.org")
    assert resp.status_code == 400
    assert "Use at most 254 characters." in field_error(resp.text, "email")
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_signup_escapes_what_it_echoes(client):
    resp = signup(client, name="<script>alert(1)</script>" + "x" * 120)
    assert resp.status_code == 400
    assert "<script>alert(1)" not in resp.text
    assert "&lt;script&gt;" in resp.text


def test_guessable_passwords_are_refused_by_zxcvbn():
    for leaked in ("password123", "iloveyou123", "Trustno1!!"):
        assert password_problem(leaked) == "That password is too common. Choose another.", leaked
    assert password_problem("1qaz2wsx3edc") is not None  # a keyboard walk
    assert password_problem("a quiet violet harbour") is None
    # Only the first 72 characters are estimated; a long strong password is fine.
    assert password_problem("a quiet violet harbour " * 8) is None
    assert password_problem("Ann Lee rides bikes", name="Ann Lee") == (
        "Do not use your email address or name in your password.")


# -------------------------------------------------------------------------------------- log in / out


def test_login_and_safe_next(client, make_user):
    make_user(email="ann@example.org", password=GOOD)
    resp = client.post("/auth/login?next=/auth/campaigns", data={"email": "ANN@example.org", "password": GOOD})
    assert resp.status_code == 302
    assert resp.location.endswith("/auth/campaigns")
    for target in ("//evil.example/x", "https://evil.example/", "/\t/evil.example", "/\\evil.example", "/\n/evil.example"):
        client.post("/auth/logout")
        resp = client.post("/auth/login", query_string={"next": target},
                           data={"email": "ann@example.org", "password": GOOD})
        assert resp.status_code == 302
        assert resp.location.endswith("/organize/"), target


@pytest.mark.parametrize("email_addr", ["ann@example.org", "nobody@example.org"])
def test_login_wrong_password_or_unknown_email_same_message(client, make_user, email_addr):
    make_user(email="ann@example.org", password=GOOD)
    resp = client.post("/auth/login", data={"email": email_addr, "password": "wrong password here"})
    assert resp.status_code == 400
    assert field_error(resp.text, "password") == "That email and password do not match an account."
    assert not logged_in(client)


def test_login_empty_and_overlong(client):
    resp = client.post("/auth/login", data={"email": "", "password": ""})
    assert resp.status_code == 400
    assert field_error(resp.text, "email") == "Enter your email."
    assert field_error(resp.text, "password") == "Enter your password."
    resp = client.post("/auth/login", data={"email": "a@example.org", "password": "p" * 201})
    assert field_error(resp.text, "password") == "That password is too long."


def test_logout_is_post_only(client, make_user, login):
    login(client, make_user())
    assert client.get("/auth/logout").status_code == 405
    assert logged_in(client)
    resp = client.post("/auth/logout")
    assert resp.status_code == 302
    assert not logged_in(client)


def test_protected_page_sends_to_login(client):
    resp = client.get("/auth/campaigns")
    assert resp.status_code == 302
    assert "/auth/login?next=" in resp.location


# ------------------------------------------------------------------------------------ password reset


def test_reset_flow_end_to_end(app, client, make_user, login):
    user = make_user(email="ann@example.org", password=GOOD)
    other_device = app.test_client()
    login(other_device, user)
    assert logged_in(other_device)

    resp = client.post("/auth/forgot", data={"email": "Ann@example.org"})
    assert resp.status_code == 302
    [message] = outbox("password_reset")
    assert message.to_addr == "ann@example.org"
    path = link_path(message, "/auth/reset/")

    page = client.get(path)
    assert page.status_code == 200 and "Choose a new password" in page.text
    resp = client.post(path, data={"password": NEW})
    assert resp.status_code == 302 and resp.location.endswith("/auth/login")
    assert not logged_in(other_device), "a password change ends other sessions"
    assert len(outbox("password_changed")) == 1

    assert client.post("/auth/login", data={"email": "ann@example.org", "password": GOOD}).status_code == 400
    assert client.post("/auth/login", data={"email": "ann@example.org", "password": NEW}).status_code == 302


def test_forgot_unknown_email_looks_the_same_and_sends_nothing(client, make_user):
    make_user(email="ann@example.org")
    known = client.post("/auth/forgot", data={"email": "ann@example.org"}, follow_redirects=True)
    unknown = client.post("/auth/forgot", data={"email": "bob@example.org"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert [m.to_addr for m in outbox()] == ["ann@example.org"]


def test_forgot_bad_email_gets_message(client):
    resp = client.post("/auth/forgot", data={"email": "nope"})
    assert resp.status_code == 400
    assert field_error(resp.text, "email") == "Enter a valid email address."


def test_reset_link_works_once(client, make_user):
    make_user(email="ann@example.org")
    client.post("/auth/forgot", data={"email": "ann@example.org"})
    client.post("/auth/forgot", data={"email": "ann@example.org"})
    first, second = (link_path(m, "/auth/reset/") for m in outbox("password_reset"))
    assert client.post(first, data={"password": NEW}).status_code == 302
    used = client.post(first, data={"password": "another fine password 7"})
    assert used.status_code == 410
    assert "already been used" in used.text
    assert client.get(second).status_code == 410, "older links die with the change too"


def test_reset_link_expires(app, client, make_user, monkeypatch):
    make_user(email="ann@example.org")
    max_age = app.config["PASSWORD_RESET_MAX_AGE"]
    real = TimestampSigner.get_timestamp
    # Issue the link as if it were sent just over max_age seconds ago.
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - max_age - 5)
    client.post("/auth/forgot", data={"email": "ann@example.org"})
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    path = link_path(outbox("password_reset")[0], "/auth/reset/")
    resp = client.post(path, data={"password": NEW})
    assert resp.status_code == 410
    assert "expired" in resp.text


def test_reset_link_tampered(client, make_user):
    make_user(email="ann@example.org")
    client.post("/auth/forgot", data={"email": "ann@example.org"})
    path = link_path(outbox("password_reset")[0], "/auth/reset/")
    resp = client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
    assert resp.status_code == 410
    assert "not valid" in resp.text


def test_reset_rejects_weak_password(client, make_user):
    make_user(email="ann@example.org")
    client.post("/auth/forgot", data={"email": "ann@example.org"})
    path = link_path(outbox("password_reset")[0], "/auth/reset/")
    resp = client.post(path, data={"password": "password123"})
    assert resp.status_code == 400
    assert field_error(resp.text, "password") == "That password is too common. Choose another."
    resp = client.post(path, data={"password": "ann@example.org!!"})
    assert field_error(resp.text, "password") == "Do not use your email address or name in your password."


def test_change_password_keeps_this_session_ends_others(app, client, make_user, login):
    user = make_user(email="ann@example.org", password=GOOD)
    login(client, user)
    other = app.test_client()
    login(other, user)
    resp = client.post("/auth/password", data={"current_password": "not it at all", "password": NEW})
    assert resp.status_code == 400
    assert field_error(resp.text, "current_password") == "That is not your current password."
    resp = client.post("/auth/password", data={"current_password": GOOD, "password": NEW})
    assert resp.status_code == 302
    assert logged_in(client)
    assert not logged_in(other)


def test_log_out_other_devices(app, client, make_user, login):
    user = make_user()
    login(client, user)
    other = app.test_client()
    login(other, user)
    assert client.get("/auth/sessions/end").status_code == 405
    resp = client.post("/auth/sessions/end")
    assert resp.status_code == 302
    assert logged_in(client)
    assert not logged_in(other)


# ------------------------------------------------------------------------------ limits, CSRF and CLI


def test_auth_posts_are_rate_limited_per_ip(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_AUTH="2 per minute")
    client = app.test_client()
    with app.app_context():
        data = {"email": "ann@example.org", "password": "whatever it is"}
        assert client.post("/auth/login", data=data).status_code == 400
        assert client.post("/auth/login", data=data).status_code == 400
        limited = client.post("/auth/login", data=data)
        assert limited.status_code == 429
        assert "Too many requests" in limited.text
        assert client.get("/auth/login").status_code == 200, "showing the form is not limited"
        other_ip = client.post("/auth/login", data=data, environ_base={"REMOTE_ADDR": "10.9.8.7"})
        assert other_ip.status_code == 400


def test_csrf_is_enforced(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        resp = client.post("/auth/login", data={"email": "ann@example.org", "password": GOOD})
        assert resp.status_code == 400
        assert "form expired" in resp.text
        page = client.get("/auth/signup")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
        # The test client speaks https (PREFERRED_URL_SCHEME), where Flask-WTF also wants a same-site Referer.
        resp = client.post("/auth/signup", headers={"Referer": "https://localhost/auth/signup"},
                           data={"csrf_token": token, "name": "Ann", "email": "ann@example.org",
                                 "password": GOOD, "campaign_name": "Ann for Mayor"})
        assert resp.status_code == 302


def test_cli_create_user(runner):
    result = runner.invoke(args=["create-user", "--email", "Boss@Example.org", "--name", "Boss",
                                 "--campaign", "HQ", "--password", GOOD])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.email == "boss@example.org"))
    assert [m.campaign.name for m in user.memberships] == ["HQ"]
    assert [m.role for m in user.memberships] == ["owner"]


def test_cli_create_user_refuses_weak_password_and_duplicates(runner, make_user):
    make_user(email="taken@example.org")
    weak = runner.invoke(args=["create-user", "--email", "new@example.org", "--password", "password123"])
    assert weak.exit_code != 0
    assert "too common" in weak.output
    dup = runner.invoke(args=["create-user", "--email", "taken@example.org", "--password", GOOD])
    assert dup.exit_code != 0
    assert "already exists" in dup.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


@pytest.mark.slow
def test_flask_create_user_command_on_a_migrated_database(tmp_path):
    """The README's first-account command, as a real process against a database made by migrations."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent.parent
    env = {**os.environ, "SECRET_KEY": "cli-test-secret-0123456789abcdef", "FLASK_DEBUG": "0",
           "TICKET_KEK": "Y2xpLXRlc3Qta2V5LWVuY3J5cHRpb24ta2V5LTMyYiE=",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "REDIS_URL": ""}

    def flask(*args):
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120)

    assert flask("db", "upgrade").returncode == 0
    made = flask("create-user", "--email", "first@example.org", "--campaign", "HQ", "--password", GOOD)
    assert made.returncode == 0, made.stderr
    assert "Created first@example.org" in made.stdout
    again = flask("create-user", "--email", "first@example.org", "--password", GOOD)
    assert again.returncode != 0
    assert "already exists" in again.stderr


# ------------------------------------------------------------- copied cookies die with the session (issue 9, item 12)


def _log_in_for_real(client, email: str = "ann@example.org") -> dict[str, str]:
    """Log in through the form with remember-me; return the cookies a thief could copy."""
    resp = client.post("/auth/login", data={"email": email, "password": GOOD, "remember": "y"})
    assert resp.status_code == 302
    cookies = {name: client.get_cookie(name) for name in ("session", "remember_token")}
    assert all(cookies.values()), "login sets both the session and the remember-me cookie"
    return {name: cookie.value for name, cookie in cookies.items()}


def _replay(app, name: str, value: str):
    """A fresh client carrying only one copied cookie, asking for the dashboard."""
    thief = app.test_client()
    thief.set_cookie(name, value, domain="localhost")
    return thief.get("/organize/")


def _assert_copies_dead(app, copied: dict[str, str]) -> None:
    for name, value in copied.items():
        resp = _replay(app, name, value)
        assert resp.status_code == 302, f"a copied {name} cookie still opens /organize/"
        assert "/auth/login" in resp.location


def test_copied_cookies_stop_working_after_logout(app, client, make_user):
    make_user(email="ann@example.org", password=GOOD)
    copied = _log_in_for_real(client)
    assert _replay(app, "session", copied["session"]).status_code == 200, "the copy works before logout"
    assert client.post("/auth/logout").status_code == 302
    _assert_copies_dead(app, copied)
    # Logging in again gives a working session (the version moved on, it did not break).
    _log_in_for_real(client)
    assert logged_in(client)


def test_copied_cookies_stop_working_after_password_change(app, client, make_user):
    make_user(email="ann@example.org", password=GOOD)
    copied = _log_in_for_real(app.test_client())
    _log_in_for_real(client)
    assert client.post("/auth/password", data={"current_password": GOOD, "password": NEW}).status_code == 302
    assert logged_in(client), "the device that changed the password stays in"
    _assert_copies_dead(app, copied)


def test_copied_cookies_stop_working_after_end_other_sessions(app, client, make_user):
    make_user(email="ann@example.org", password=GOOD)
    copied = _log_in_for_real(app.test_client())
    _log_in_for_real(client)
    assert client.post("/auth/sessions/end").status_code == 302
    assert logged_in(client)
    _assert_copies_dead(app, copied)


def test_copied_cookies_stop_working_after_password_reset(app, client, make_user):
    make_user(email="ann@example.org", password=GOOD)
    copied = _log_in_for_real(app.test_client())
    client.post("/auth/forgot", data={"email": "ann@example.org"})
    path = link_path(outbox("password_reset")[0], "/auth/reset/")
    assert client.post(path, data={"password": NEW}).status_code == 302
    _assert_copies_dead(app, copied)


def test_log_out_service_bumps_the_version_in_its_own_transaction(app, make_user):
    from rallies.auth import accounts

    user = make_user()
    before = user.session_version
    accounts.log_out(user)
    db.session.rollback()  # committed already: a rollback cannot undo it
    assert db.session.get(User, user.id).session_version == before + 1
