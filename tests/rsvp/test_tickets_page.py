"""The ticket page, its QR image (decoded by OpenCV, independent of qrcode), calendar file and reminder answers."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from rallies.rsvp import tickets
from rallies.rsvp.notices import answer_signature
from tests import factories
from tests.stored import rsvp_by_email
from tests.web import rsvp_post, token_from


@pytest.fixture
def rally(campaign, make_rally):
    return make_rally(campaign, title="Jobs, Rights; and \\ Justice", capacity=50, max_guests=3,
                      description="Bring water.\nAnd a friend, please.")


def _ticket(client, rally, email="ana@example.org", guests=1):
    return token_from(rsvp_post(client, rally, email=email, guests=guests))


def decode_png(png: bytes) -> str:
    """Decode a QR code from PNG bytes with OpenCV (its two detectors, as a phone app would retry)."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None, "not a PNG OpenCV can read"
    # OpenCV's classic detector misses about 2% of valid codes (finder-pattern heuristics); the
    # ArUco-based one reads them, so try both rather than make the test flaky.
    for detector in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):
        text, points, _ = detector.detectAndDecode(image)
        if points is not None and text:
            return text
    raise AssertionError("OpenCV found no QR code")


def test_ticket_page_shows_everything(client, rally):
    token = _ticket(client, rally)
    html = client.get(f"/t/{token}").get_data(as_text=True)
    assert "Jobs, Rights; and \\ Justice" in html
    assert "America/Chicago" not in html and ("CST" in html or "CDT" in html)  # local time, zone abbreviated
    assert "Union Park" in html and "1501 W Randolph St" in html
    assert "2 people" in html and "Going" in html
    assert f'<img src="/t/{token}/qr.png" alt="QR code for your ticket"' in html  # the PNG the email attaches
    assert f"/t/{token}/guests" in html and f"/t/{token}/cancel" in html and f"/t/{token}/rally.ics" in html
    assert "@media print" not in html  # print CSS lives in the stylesheet
    assert 'name="robots" content="noindex' in html


def test_qr_png_decodes_and_verifies(client, rally, campaign, make_rally):
    token = _ticket(client, rally)
    rsvp = rsvp_by_email(rally, "ana@example.org")
    resp = client.get(f"/t/{token}/qr.png")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    code = decode_png(resp.data)
    assert code == tickets.ticket_code(rsvp.rally, rsvp.id)
    parsed = tickets.parse_code(code)
    assert parsed.ticket_id == rsvp.id
    assert tickets.verify_code(rsvp.rally.public_key, rally.id, parsed)
    # A tampered code fails (flip one character of the signature part).
    last = "A" if code[-5] != "A" else "B"
    tampered = code[:-5] + last + code[-4:]
    try:
        assert not tickets.verify_code(rsvp.rally.public_key, rally.id, tickets.parse_code(tampered))
    except tickets.InvalidCode:
        pass
    # The same ticket id signed by another rally's key fails here, and this code fails there.
    other = make_rally(campaign)
    foreign = tickets.parse_code(tickets.ticket_code(other, rsvp.id))
    assert not tickets.verify_code(rsvp.rally.public_key, rally.id, foreign)
    assert not tickets.verify_code(other.public_key, other.id, parsed)


def test_qr_png_caching_headers_and_304(client, rally):
    token = _ticket(client, rally)
    first = client.get(f"/t/{token}/qr.png")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = client.get(f"/t/{token}/qr.png", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(f"/t/{token}/qr.png").data == first.data  # never changes


def test_waitlisted_ticket_has_no_qr_and_cancelled_shows_status(client, campaign, make_rally):
    rally = make_rally(campaign, capacity=1)
    _ticket(client, rally, "a@example.org", guests=0)
    waiting = _ticket(client, rally, "b@example.org", guests=0)
    html = client.get(f"/t/{waiting}").get_data(as_text=True)
    assert "Waitlisted: number 1 in line" in html and "qr.png" not in html
    assert client.get(f"/t/{waiting}/qr.png").status_code == 404
    client.post(f"/t/{waiting}/cancel")
    html = client.get(f"/t/{waiting}").get_data(as_text=True)
    assert "Cancelled" in html and "Change guests" not in html


@pytest.mark.parametrize("path", [
    "/t/" + "A" * 43, "/t/short", "/t/" + "A" * 43 + "/qr.png", "/t/" + "x" * 500, "/t/%00%01",
    "/t/" + "A" * 43 + "/cancel", "/t/" + "A" * 43 + "/rally.ics",
])
def test_forged_ticket_urls_are_404(client, rally, path):
    assert client.get(path).status_code == 404
    assert client.post(path).status_code in (404, 405)


def test_ics_download_is_valid_and_escaped(client, rally):
    token = _ticket(client, rally)
    resp = client.get(f"/t/{token}/rally.ics")
    assert resp.mimetype == "text/calendar"
    assert "attachment" in resp.headers["Content-Disposition"]
    body = resp.get_data(as_text=True)
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    unfolded = body.replace("\r\n ", "")
    assert "SUMMARY:Jobs\\, Rights\\; and \\\\ Justice\r\n" in unfolded
    assert "DESCRIPTION:Bring water.\\nAnd a friend\\, please." in unfolded
    assert re.search(r"DTSTART:\d{8}T\d{6}Z\r\n", body)
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    # The public rally page, never the ticket (issue 9 item 4): calendar events get shared.
    assert f"URL:http://localhost/r/{rally.slug}\r\n" in unfolded and token not in unfolded


def test_reminder_answer_links_confirm_before_acting(client, campaign, make_rally):
    rally = make_rally(campaign, capacity=1)
    token = _ticket(client, rally, "a@example.org", guests=0)
    _ticket(client, rally, "w@example.org", guests=0)
    rsvp = rsvp_by_email(rally, "a@example.org")
    no_url = f"/t/{token}/answer/no?sig={answer_signature(rsvp, 'no')}"
    # A link prefetcher's GET changes nothing.
    page = client.get(no_url)
    assert page.status_code == 200 and "can't make it" in page.get_data(as_text=True).lower()
    assert rsvp_by_email(rally, "a@example.org").status == "going"
    # Wrong signature or answer: 404.
    assert client.get(f"/t/{token}/answer/no?sig=forged").status_code == 404
    assert client.get(f"/t/{token}/answer/yes?sig={answer_signature(rsvp, 'no')}").status_code == 404
    assert client.get(f"/t/{token}/answer/maybe?sig=x").status_code == 404
    resp = client.post(no_url)
    assert resp.status_code == 303
    a = rsvp_by_email(rally, "a@example.org")
    assert a.status == "cancelled" and a.reminder_answer == "no"
    assert rsvp_by_email(rally, "w@example.org").status == "going"


def test_reminder_yes_records_answer(client, rally):
    token = _ticket(client, rally)
    rsvp = rsvp_by_email(rally, "ana@example.org")
    resp = client.post(f"/t/{token}/answer/yes?sig={answer_signature(rsvp, 'yes')}")
    assert resp.status_code == 303
    rsvp = rsvp_by_email(rally, "ana@example.org")
    assert rsvp.reminder_answer == "yes" and rsvp.status == "going"


def test_ticket_page_without_coordinates_still_renders(client, campaign, make_rally):
    rally = make_rally(campaign, lat=None, lon=None, geo_precision="none")
    token = _ticket(client, rally)
    assert client.get(f"/t/{token}").status_code == 200


def test_cancel_requires_csrf_when_enabled(app_factory):
    from rallies.extensions import db

    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        factories.make_rally(factories.make_campaign(), slug="c1")
    client = app.test_client()
    form = client.get("/r/c1/rsvp").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    # The test client speaks https (PREFERRED_URL_SCHEME), where Flask-WTF also checks the Referer.
    for bad in ("", "forged-token"):
        refused = client.post("/r/c1/rsvp", data={"name": "A", "email": "a@example.org", "guests": "0",
                                                  "csrf_token": bad}, headers={"Referer": "https://localhost/r/c1/rsvp"})
        assert refused.status_code == 400
    with app.app_context():
        from rallies.models import Rsvp

        assert db.session.scalar(db.select(db.func.count()).select_from(Rsvp)) == 0
    resp = client.post("/r/c1/rsvp", data={"name": "A", "email": "a@example.org", "guests": "0", "csrf_token": csrf},
                       headers={"Referer": "https://localhost/r/c1/rsvp"})
    token = token_from(resp)
    assert client.post(f"/t/{token}/cancel", headers={"Referer": f"https://localhost/t/{token}/cancel"}).status_code == 400
    with app.app_context():
        from rallies.models import Rsvp

        assert db.session.scalar(db.select(Rsvp.status)) == "going"
