"""What the QR drawings hold: ticket and door-link QRs read back to their text with an independent
decoder (OpenCV), inside the 4-module quiet zone ISO 18004 asks for, at most QR version 7."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from rallies.rsvp.tickets import CODE_LENGTH, MAX_QR_VERSION, TICKET_QR_VERSION, link_qr_svg, qr_png, qr_version

QUIET = 4


def decode(grid: list[list[bool]], scale: int = 6) -> str:
    image = np.kron(np.where(np.array(grid), 0, 255).astype(np.uint8), np.ones((scale, scale), np.uint8))
    return cv2.QRCodeDetectorAruco().detectAndDecode(image)[0]


def svg_grid(svg: str) -> list[list[bool]]:
    """The dark modules an SVG from link_qr_svg draws, redrawn on a grid."""
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    path = re.search(r'<path d="([^"]*)"/>', svg).group(1)
    assert re.fullmatch(r"(M\d+ \d+h\d+v1H\d+z)*", path), "the path is runs of M x y h w v1 H x z only"
    grid = [[False] * size for _ in range(size)]
    for x, y, width in re.findall(r"M(\d+) (\d+)h(\d+)", path):
        for i in range(int(x), int(x) + int(width)):
            grid[int(y)][i] = True
    return grid


def assert_quiet_zone(grid: list[list[bool]]) -> None:
    size = len(grid)
    edge = [grid[y][x] for y in range(size) for x in range(size)
            if min(x, y) < QUIET or max(x, y) >= size - QUIET]
    assert not any(edge)
    assert grid[QUIET][QUIET] and grid[size - QUIET - 1][QUIET]  # the finder patterns start right inside it


def test_a_door_link_qr_reads_back_to_its_url():
    url = "https://rallies.example.org/door/l/abcDEF123-xyz"
    grid = svg_grid(link_qr_svg(url))
    assert decode(grid) == url
    assert_quiet_zone(grid)


def test_a_ticket_png_reads_back_to_its_code_at_eight_pixels_a_module():
    code = "RT1" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" * 3 + "A" * 16
    assert len(code) == CODE_LENGTH
    image = cv2.imdecode(np.frombuffer(qr_png(code), np.uint8), cv2.IMREAD_GRAYSCALE)
    modules = 4 * qr_version(code) + 17 + 2 * QUIET
    assert image.shape == (modules * 8, modules * 8)
    grid = [[image[8 * y + 4, 8 * x + 4] == 0 for x in range(modules)] for y in range(modules)]
    assert_quiet_zone(grid)
    assert decode(grid) == code


def test_qr_codes_stop_at_version_seven():
    biggest = "A" * 178  # the most alphanumeric characters version 7 holds at level M
    assert qr_version(biggest) == MAX_QR_VERSION == 7
    with pytest.raises(ValueError):
        qr_version(biggest + "A")



def test_a_ticket_code_is_drawn_at_the_smallest_version_its_length_fits():
    import qrcode

    code = "RT1" + "Z" * (CODE_LENGTH - 3)
    fitted = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    fitted.add_data(qrcode.util.QRData(code, mode=qrcode.util.MODE_ALPHA_NUM))
    fitted.make(fit=True)
    assert qr_version(code) == TICKET_QR_VERSION == fitted.version


def zxing_read(png: bytes):
    """The symbol as a second independent decoder (ZXing's C++ port) reads it: text, version, level, mask."""
    import io

    import zxingcpp
    from PIL import Image

    [symbol] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return symbol


def test_a_ticket_symbol_is_version_5_level_m_with_the_fixed_mask():
    # Level M: a ticket still reads with about 15% of it smudged or covered. The version is fixed by the
    # code's length, so every printed ticket has the same module size at the same print size.
    code = "RT1" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" * 3 + "B" * 16
    symbol = zxing_read(qr_png(code))
    assert symbol.text == code
    assert (symbol.extra["Version"], symbol.extra["ECLevel"], symbol.extra["DataMask"]) == ("5", "M", 3)
    assert str(symbol.position).startswith(f"{QUIET * 8}x{QUIET * 8} ")  # the quiet zone, at 8 px a module


def test_other_text_is_fitted_to_its_length_at_level_m():
    symbol = zxing_read(qr_png("RT1SHORT"))
    assert (symbol.text, symbol.extra["Version"], symbol.extra["ECLevel"]) == ("RT1SHORT", "1", "M")


def test_a_ticket_drawn_without_its_code_at_hand_shows_its_own_signed_code(make_rally, campaign):
    from rallies.extensions import db
    from rallies.models import Rally
    from rallies.rsvp.tickets import stored_or_drawn_png
    from tests.factories import make_ticket

    rally = make_rally(campaign)
    make_ticket(rally, name="Bo Li")
    rsvp, code = make_ticket(rally, name="Ana López")
    key = db.session.get(Rally, rally.id).signing_key
    drawn = stored_or_drawn_png(rsvp.id, rally.id, key, None)  # as the image URL draws it: no code given
    assert zxing_read(drawn).text == code
    assert stored_or_drawn_png(rsvp.id, rally.id, key, None, code) == drawn
