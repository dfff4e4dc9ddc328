"""Ticket codes: format, signatures, QR size, and decoding by an independent decoder (OpenCV)."""

import re

import cv2
import numpy as np
import pytest

from rallies.csvsafe import csv_text, safe_cell
from rallies.rsvp import tickets
from tests.factories import campaign_of


def _rally(make_user, make_rally):
    user = make_user()
    return make_rally(campaign_of(user))


def test_code_round_trip_and_verify(app, make_user, make_rally):
    rally = _rally(make_user, make_rally)
    code = tickets.ticket_code(rally, 123456)
    assert code.startswith("RT1") and len(code) == tickets.CODE_LENGTH
    parsed = tickets.parse_code(code)
    assert parsed.ticket_id == 123456
    assert tickets.verify_code(rally.public_key, rally.id, parsed)
    # Deterministic: the same ticket always has the same code.
    assert tickets.ticket_code(rally, 123456) == code
    assert tickets.qr_version(code) <= 7


def test_tampered_and_other_rally_codes_fail(app, make_user, make_rally):
    rally = _rally(make_user, make_rally)
    other = _rally(make_user, make_rally)
    code = tickets.ticket_code(rally, 42)
    # Change one character of the ticket id part.
    tampered = code[:5] + ("A" if code[5] != "A" else "B") + code[6:]
    parsed = tickets.parse_code(tampered)
    assert not tickets.verify_code(rally.public_key, rally.id, parsed)
    # A real code from another rally does not verify with this rally's key or id.
    foreign = tickets.parse_code(tickets.ticket_code(other, 42))
    assert not tickets.verify_code(rally.public_key, rally.id, foreign)
    assert tickets.verify_code(other.public_key, other.id, foreign)


@pytest.mark.parametrize("junk", ["", "RT", "RT2" + "A" * 112, "RT1" + "A" * 10, "RT1" + "1" * 112,
                                  "x" * 5000, b"\xff\xfe", None, "hello world"])
def test_parse_rejects_junk(junk):
    with pytest.raises(tickets.InvalidCode):
        tickets.parse_code(junk)


def test_png_decodes_with_opencv_and_verifies(app, make_user, make_rally):
    rally = _rally(make_user, make_rally)
    code = tickets.ticket_code(rally, 987654321)
    png = tickets.qr_png(code)
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    # OpenCV's ArUco-based detector: the classic one misreads a few valid codes.
    decoded, _points, _ = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    assert decoded == code
    assert tickets.verify_code(rally.public_key, rally.id, tickets.parse_code(decoded))


def test_png_draws_exactly_the_qr_modules(app, make_user, make_rally):
    # Every module is one box_size square of the PNG (OpenCV reads the PNG above; this pins the drawing).
    rally = _rally(make_user, make_rally)
    code = tickets.ticket_code(rally, 12345)
    matrix = tickets._qr(code).get_matrix()
    image = cv2.imdecode(np.frombuffer(tickets.qr_png(code, box_size=3), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image.shape == (len(matrix) * 3, len(matrix) * 3)
    assert [[image[3 * y + 1, 3 * x + 1] == 0 for x in range(len(matrix))] for y in range(len(matrix))] == matrix
    assert set(np.unique(image)) <= {0, 255}


def test_link_svg_draws_exactly_the_qr_modules():
    # Redraw the path's rectangles on a grid and compare with qrcode's own module matrix.
    url = "https://rallies.example.org/door/l/abcDEF123"
    svg = tickets.link_qr_svg(url)
    assert svg.startswith("<svg") and "<?xml" not in svg
    matrix = tickets._link_qr(url).get_matrix()
    size = len(matrix)
    assert f'viewBox="0 0 {size} {size}"' in svg
    grid = [[False] * size for _ in range(size)]
    for x, y, width, x_back in re.findall(r"M(\d+) (\d+)h(\d+)v1H(\d+)z", svg):
        assert x == x_back
        for i in range(int(x), int(x) + int(width)):
            assert not grid[int(y)][i], "rectangles never overlap"
            grid[int(y)][i] = True
    assert grid == [[bool(v) for v in row] for row in matrix]


def test_csv_neutralises_formulas():
    assert safe_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert safe_cell("+1") == "'+1" and safe_cell("@SUM") == "'@SUM" and safe_cell("-2") == "'-2"
    assert safe_cell(-2) == "-2" and safe_cell("plain") == "plain"
    text = csv_text(["name"], [["=cmd|' /C calc'!A0"], ["Ana"]])
    assert text.splitlines()[1].startswith("\"'=cmd") or text.splitlines()[1].startswith("'=cmd")


def test_ticket_qrs_with_the_fixed_mask_decode(app, make_user, make_rally):
    # Ticket QRs use one mask instead of searching all eight: many real codes must still read.
    rally = _rally(make_user, make_rally)
    detector = cv2.QRCodeDetectorAruco()
    for ticket_id in range(1, 400_000, 9_973):
        code = tickets.ticket_code(rally, ticket_id)
        image = cv2.imdecode(np.frombuffer(tickets.qr_png(code), np.uint8), cv2.IMREAD_GRAYSCALE)
        assert detector.detectAndDecode(image)[0] == code, ticket_id
