"""Issue 9, item 13: a copy of the database forges no ticket and opens no ticket page.

Rally signing keys are sealed with the key-encryption key (KEK) from the environment; ticket-page
tokens are stored only as a SHA-256 hash plus a sealed copy the app alone can open.
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
import sqlalchemy as sa

from rallies.database import atomic
from rallies.door.checkin import check_in
from rallies.extensions import db
from rallies.models import Rally, Rsvp
from rallies.rsvp import tickets
from tests.factories import campaign_of, door_session, make_door, make_ticket, nonce
from tests.web import rsvp_post, token_from


def _kek() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


@pytest.fixture
def rally(make_user, make_rally):
    return make_rally(campaign_of(make_user()), capacity=100)


def _stored_rally_row(rally_id: int):
    """The rally's key columns exactly as a database dump would show them."""
    t = Rally.__table__
    db.session.expire_all()
    return db.session.execute(sa.select(t.c.signing_key, t.c.public_key).where(t.c.id == rally_id)).one()


def _stored_rsvp_values(rsvp_id: int) -> list:
    """Every column of the RSVP row, read with Core (no ORM attribute can hide or add anything)."""
    t = Rsvp.__table__
    return list(db.session.execute(sa.select(t).where(t.c.id == rsvp_id)).one())


# --- 13a: signing keys ------------------------------------------------------------------------------


def test_key_read_from_the_database_forges_no_ticket(rally):
    """Every 32-byte slice of the stored signing key, used as an Ed25519 key, mints codes the door refuses."""
    ctx = door_session(make_door(rally))[0]
    real, real_code = make_ticket(rally, name="Real Person")
    victim, _ = make_ticket(rally, name="Victim Person")
    stored = bytes(_stored_rally_row(rally.id).signing_key)
    assert len(stored) > 32  # sealed, not a raw Ed25519 key
    forged_any = False
    for start in range(len(stored) - 31):
        try:
            code = tickets.make_code(stored[start:start + 32], rally.id, victim.id)
        except ValueError:
            continue
        verdict = check_in(code, ctx, nonce=nonce())
        assert verdict.verdict == "invalid" and verdict.reason == "bad_signature", (start, verdict)
        forged_any = True
    assert forged_any  # the slices were really tried at the door
    assert check_in(real_code, ctx, nonce=nonce()).verdict == "admit"
    assert check_in(tickets.ticket_code(rally, victim.id), ctx, nonce=nonce()).verdict == "admit"


def test_sealed_key_only_opens_for_its_own_rally(rally, make_rally):
    """A sealed key copied onto another rally cannot sign for it (the rally id is bound in)."""
    from rallies.keys import sealing

    other = make_rally(rally.campaign, title="Other rally")
    stolen = _stored_rally_row(rally.id).signing_key
    with atomic():
        db.session.execute(Rally.__table__.update().where(Rally.__table__.c.id == other.id).values(signing_key=stolen))
    db.session.expire_all()
    with pytest.raises(sealing.SealError):
        tickets.ticket_code(db.session.get(Rally, other.id), 1)


def test_rotate_ticket_kek_reseals_every_key_and_token(app, client, rally, runner):
    """`flask rotate-ticket-kek` moves every sealed secret to the new KEK; codes and links stay the same."""
    from rallies.keys import sealing
    from rallies.keys.link_secrets import page_token

    token = token_from(rsvp_post(client, rally))
    code_before = tickets.ticket_code(rally, 1)
    first_kek = app.config["TICKET_KEK"]
    new_kek = _kek()
    app.config.update(TICKET_KEK=new_kek, TICKET_KEK_OLD=first_kek)
    result = runner.invoke(args=["rotate-ticket-kek", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "resealed 1 rally key(s) and 1 ticket token(s)" in result.output
    again = runner.invoke(args=["rotate-ticket-kek"])
    assert "resealed 0 rally key(s) and 0 ticket token(s)" in again.output  # idempotent
    app.config.update(TICKET_KEK_OLD="")  # the old KEK is gone for good
    db.session.expire_all()
    fresh = db.session.get(Rally, rally.id)
    assert tickets.ticket_code(fresh, 1) == code_before
    rsvp = db.session.scalar(sa.select(Rsvp).where(Rsvp.rally_id == rally.id))
    assert page_token(rsvp) == token
    assert client.get(f"/t/{token}").status_code == 200
    # Under the first KEK alone nothing opens any more.
    app.config.update(TICKET_KEK=first_kek)
    with pytest.raises(sealing.SealError):
        tickets.ticket_code(fresh, 2)


def test_app_refuses_the_development_kek_in_production(app_factory):
    """Like SECRET_KEY: the built-in development KEK is refused outside debug and testing; junk is refused anywhere."""
    from config import DEV_TICKET_KEK

    with pytest.raises(RuntimeError, match="TICKET_KEK"):
        app_factory(TESTING=False, DEBUG=False, SECRET_KEY="s" * 40, TICKET_KEK=DEV_TICKET_KEK)
    with pytest.raises(RuntimeError, match="TICKET_KEK"):
        app_factory(TICKET_KEK="not-base64-32-bytes")
    with pytest.raises(RuntimeError, match="TICKET_KEK_OLD"):
        app_factory(TICKET_KEK_OLD="short")
    assert app_factory(TESTING=False, DEBUG=False, SECRET_KEY="s" * 40, TICKET_KEK=_kek())


# --- 13b: ticket-page tokens -------------------------------------------------------------------------


def test_ticket_token_is_not_stored_and_its_hash_opens_nothing(client, rally):
    """The rsvp row holds no copy of the token in the ticket URL; the stored hash is not a key to the page."""
    token = token_from(rsvp_post(client, rally, email="leak@example.org"))
    assert client.get(f"/t/{token}").status_code == 200
    rsvp_id = db.session.scalar(sa.select(Rsvp.id).where(Rsvp.email == "leak@example.org"))
    values = _stored_rsvp_values(rsvp_id)
    raw = token.encode()
    for value in values:
        if isinstance(value, str):
            assert token not in value
        elif isinstance(value, bytes | memoryview):
            assert raw not in bytes(value)
    digest = hashlib.sha256(raw).digest()
    stored_hash = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert stored_hash in values  # the lookup key is the hash
    for leaked in (stored_hash, digest.hex(), digest.hex()[:43]):
        for path in ("", "/qr.png", "/rally.ics", "/guests", "/cancel", "/answer/yes"):
            assert client.get(f"/t/{leaked}{path}").status_code == 404, (leaked, path)


def test_ticket_email_links_use_the_same_token(client, rally, app):
    """The ticket email, rendered at send time from the RSVP id alone, links to the page the form led to."""
    from email import message_from_bytes, policy

    from rallies.mail.delivery import render_body
    from rallies.models import OutboxMessage

    token = token_from(rsvp_post(client, rally, email="mail@example.org"))
    row = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.to_addr == "mail@example.org")).one()
    text = message_from_bytes(render_body(row), policy=policy.default).get_body(("plain",)).get_content()
    assert f"/t/{token}" in text and f"/t/{token}/cancel" in text


def test_wrong_kek_is_a_503_that_names_the_setting(app, client, rally, caplog):
    """Deployed with a KEK that did not seal the data: the ticket page says the service is unavailable
    (not a 500), and the log says which setting to check."""
    token = token_from(rsvp_post(client, rally, email="kek@example.org"))
    app.config.update(TICKET_KEK=_kek())
    resp = client.get(f"/t/{token}")
    assert resp.status_code == 503
    assert "TICKET_KEK" in caplog.text and token not in caplog.text
