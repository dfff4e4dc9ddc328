"""Issue 10, sign-up: each ticket's QR image is drawn once, stored sealed, and served and attached from there."""

from __future__ import annotations

import base64
import os
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from test_tickets_page import decode_png

from rallies.database import atomic
from rallies.extensions import db
from rallies.mail import delivery
from rallies.models import TicketImage
from rallies.rsvp import tickets
from tests.factories import campaign_of
from tests.stored import outbox, rsvp_by_email
from tests.web import rsvp_post, token_from


@pytest.fixture
def rally(make_user, make_rally):
    return make_rally(campaign_of(make_user()), capacity=50)


@pytest.fixture
def draws(monkeypatch):
    """Every QR drawing made, as the codes drawn."""
    made: list[str] = []
    real = tickets.qr_png

    def counting(code, *args, **kwargs):
        made.append(code)
        return real(code, *args, **kwargs)

    monkeypatch.setattr(tickets, "qr_png", counting)
    return made


def _attached_png(row) -> bytes:
    msg = message_from_bytes(delivery.render_body(row), policy=policy.default)
    return next(p for p in msg.walk() if p.get_content_type() == "image/png").get_content()


def _stored() -> list[TicketImage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(TicketImage)))


def test_image_url_first_then_email_draws_once(client, rally, draws):
    token = token_from(rsvp_post(client, rally, email="first@example.org"))
    served = client.get(f"/t/{token}/qr.png").data
    assert client.get(f"/t/{token}/qr.png").data == served
    assert _attached_png(outbox("confirmation")[0]) == served
    rsvp = rsvp_by_email(rally, "first@example.org")
    assert draws == [tickets.ticket_code(rsvp.rally, rsvp.id)]  # one drawing for the page's image and the email
    assert decode_png(served) == draws[0]


def test_email_first_then_image_url_draws_once(client, rally, draws):
    token = token_from(rsvp_post(client, rally, email="mailfirst@example.org"))
    attached = _attached_png(outbox("confirmation")[0])
    assert client.get(f"/t/{token}/qr.png").data == attached
    assert len(draws) == 1 and len(_stored()) == 1


def test_ticket_page_and_waitlist_draw_nothing(client, make_user, make_rally, draws):
    full = make_rally(campaign_of(make_user()), capacity=1)
    going = token_from(rsvp_post(client, full, email="going@example.org"))
    waiting = token_from(rsvp_post(client, full, email="waiting@example.org"))
    assert client.get(f"/t/{going}").status_code == 200  # the page links to the image; it draws nothing
    assert client.get(f"/t/{waiting}/qr.png").status_code == 404
    for row in outbox("confirmation", "waiting@example.org"):
        delivery.render_body(row)
    assert draws == [] and _stored() == []


def test_stored_image_is_sealed_and_bound_to_its_ticket(client, rally, make_user, make_rally):
    """A copy of the database holds no ticket picture: the stored bytes are no PNG and open for their RSVP only."""
    token = token_from(rsvp_post(client, rally, email="sealed@example.org"))
    other = token_from(rsvp_post(client, rally, email="other@example.org"))
    png = client.get(f"/t/{token}/qr.png").data
    client.get(f"/t/{other}/qr.png")
    mine, theirs = sorted(_stored(), key=lambda image: image.rsvp_id)
    raw = bytes(mine.png_sealed)
    assert b"\x89PNG" not in raw and png not in raw and base64.b64encode(png)[:40] not in raw
    # Moved onto another ticket, the sealed image does not open there: that ticket is drawn again.
    with atomic():
        db.session.execute(sa.update(TicketImage).where(TicketImage.rsvp_id == theirs.rsvp_id)
                           .values(png_sealed=raw))
    theirs_png = client.get(f"/t/{other}/qr.png").data
    assert theirs_png != png and decode_png(theirs_png) != decode_png(png)


def test_image_sealed_under_a_kek_no_longer_held_is_drawn_again(app, client, rally, draws):
    token = token_from(rsvp_post(client, rally, email="rekey@example.org"))
    before = client.get(f"/t/{token}/qr.png").data
    old = bytes(_stored()[0].png_sealed)
    # The page token and the signing key were resealed under the new KEK; the image was not.
    app.config.update(TICKET_KEK_OLD=app.config["TICKET_KEK"],
                      TICKET_KEK=base64.urlsafe_b64encode(os.urandom(32)).decode())
    app.test_cli_runner().invoke(args=["rotate-ticket-kek"])
    app.config.update(TICKET_KEK_OLD="")
    with atomic():
        db.session.add(TicketImage(rsvp_id=rsvp_by_email(rally, "rekey@example.org").id, png_sealed=old))
    assert client.get(f"/t/{token}/qr.png").data == before  # the same picture, drawn again
    assert len(draws) == 2 and bytes(_stored()[0].png_sealed) != old


def test_kek_rotation_drops_stored_images(app, client, rally):
    token = token_from(rsvp_post(client, rally, email="rotate@example.org"))
    before = client.get(f"/t/{token}/qr.png").data
    app.config.update(TICKET_KEK_OLD=app.config["TICKET_KEK"],
                      TICKET_KEK=base64.urlsafe_b64encode(os.urandom(32)).decode())
    result = app.test_cli_runner().invoke(args=["rotate-ticket-kek"])
    assert result.exit_code == 0 and "dropped 1 stored QR image(s)" in result.output
    assert _stored() == []  # nothing stays sealed under the old KEK
    assert client.get(f"/t/{token}/qr.png").data == before


def test_deleting_the_rsvp_deletes_its_image(client, rally):
    from rallies.models import Rsvp

    token = token_from(rsvp_post(client, rally, email="gone@example.org"))
    client.get(f"/t/{token}/qr.png")
    with atomic():
        db.session.execute(sa.delete(Rsvp).where(Rsvp.email == "gone@example.org"))
    assert _stored() == []
