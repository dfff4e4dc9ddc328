"""Ticket codes: the one module that defines their format. Also QR rendering.

Format, version 1 (``RT1``)::

    code    = "RT1" + BASE32(ticket_id || signature)      # upper case, no padding
    ticket_id = the RSVP id, 6 bytes, big-endian
    signature = Ed25519(rally signing key, MESSAGE), 64 bytes
    MESSAGE = b"RALLIES-TICKET-1" || rally_id (4 bytes, big-endian) || ticket_id (6 bytes)

The code is 3 + 112 = 115 characters from the QR alphanumeric set (A-Z, 2-7), which fits
QR version 5 at error-correction level M (122 alphanumeric characters; nothing drawn goes past
version 7). Every code has that length, so every ticket's QR is version 5. Because the signed
message binds the rally id, a code is valid only for its own rally; a door device that holds
just the rally's public key can tell a forged or altered code from a real one offline.
The private key is stored sealed with the KEK (keys/sealing.py, bound to the rally id),
so a copy of the database cannot sign.
Ed25519 signatures are deterministic, so a ticket's code (and QR image) never changes.
A cancelled ticket stays cryptographically valid; the rally's revocation list (its
cancelled RSVP ids) is what refuses it at the door.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..database import atomic, insert
from ..extensions import db
from ..keys import sealing
from ..models import TicketImage

PREFIX = "RT1"
VERSION = 1
MESSAGE_TAG = b"RALLIES-TICKET-1"
TICKET_ID_BYTES = 6
SIGNATURE_BYTES = 64
CODE_LENGTH = len(PREFIX) + 112
MAX_QR_VERSION = 7
#: The QR version of every ticket code (CODE_LENGTH alphanumeric characters at level M).
TICKET_QR_VERSION = 5
#: Anything longer than this is refused before decoding (scanners send junk).
MAX_INPUT_LENGTH = 400

_BASE32 = re.compile(r"^[A-Z2-7]+$")

if TYPE_CHECKING:
    import qrcode


class InvalidCode(ValueError):
    """The text is not a well-formed ticket code of a known version."""


@dataclass(frozen=True)
class ParsedCode:
    version: int
    ticket_id: int
    signature: bytes


def ensure_rally_keys(rally) -> None:
    """Give the rally its Ed25519 key pair if it has none, the private key sealed (the caller commits)."""
    if rally.signing_key and rally.public_key:
        return
    if rally.id is None:
        db.session.flush()  # the sealed key is bound to the rally id
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    rally.signing_key = seal_signing_key(rally.id, raw)
    rally.public_key = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_aad(rally_id: int) -> bytes:
    return b"rallies:signing-key:rally:%d" % rally_id


def seal_signing_key(rally_id: int, raw: bytes) -> bytes:
    """A raw 32-byte private key as stored: sealed with the KEK and bound to its rally."""
    return sealing.seal(raw, _key_aad(rally_id))


def open_signing_key(rally_id: int, sealed: bytes | None) -> bytes:
    """The raw private key of a rally from its stored form; the one place a signing key is opened.

    Raises sealing.SealError when it cannot be opened (unsealed, wrong rally, KEK not configured).
    """
    return sealing.open_sealed(sealed, _key_aad(rally_id))


def signed_message(rally_id: int, ticket_id: int) -> bytes:
    """The bytes a ticket's signature covers."""
    return MESSAGE_TAG + rally_id.to_bytes(4, "big") + ticket_id.to_bytes(TICKET_ID_BYTES, "big")


def ticket_code(rally, rsvp_id: int) -> str:
    """The ticket code for an RSVP of this rally (deterministic)."""
    return code_for(rally.id, rally.signing_key, rsvp_id)


def code_for(rally_id: int, sealed_key: bytes | memoryview | None, ticket_id: int) -> str:
    """The code of ticket_id from the rally's stored (sealed) key: everything that signs comes here."""
    if not sealed_key:
        raise ValueError("rally has no signing key")
    # The opened key lives only for this signature.
    return make_code(open_signing_key(rally_id, bytes(sealed_key)), rally_id, ticket_id)


def make_code(signing_key: bytes, rally_id: int, ticket_id: int) -> str:
    """Sign and encode a code with a raw 32-byte private key (ValueError for anything else)."""
    if not signing_key:
        raise ValueError("rally has no signing key")
    signature = Ed25519PrivateKey.from_private_bytes(bytes(signing_key)).sign(signed_message(rally_id, ticket_id))
    payload = ticket_id.to_bytes(TICKET_ID_BYTES, "big") + signature
    return PREFIX + base64.b32encode(payload).decode("ascii").rstrip("=")


def parse_code(text: str | bytes | None) -> ParsedCode:
    """Decode a scanned code, or raise InvalidCode (never anything else)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidCode("not text") from exc
    if not isinstance(text, str) or not text:
        raise InvalidCode("empty")
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidCode("too long")
    code = text.strip().upper()
    if not code.startswith("RT") or len(code) < 3:
        raise InvalidCode("not a ticket code")
    if not code.startswith(PREFIX):
        raise InvalidCode("unknown code version")
    body = code[len(PREFIX):]
    if len(code) != CODE_LENGTH or not _BASE32.match(body):
        raise InvalidCode("malformed")
    raw = base64.b32decode(body + "=" * (-len(body) % 8))
    ticket_id = int.from_bytes(raw[:TICKET_ID_BYTES], "big")
    return ParsedCode(VERSION, ticket_id, raw[TICKET_ID_BYTES:])


def verify_code(public_key: bytes | None, rally_id: int, parsed: ParsedCode) -> bool:
    """True if the signature was made by this rally's key for this ticket id."""
    if not public_key:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(parsed.signature, signed_message(rally_id, parsed.ticket_id))
    except InvalidSignature:
        return False
    return True


TICKET_QR_MASK = 3


def _qr(code: str) -> qrcode.QRCode:
    import qrcode  # qrcode and PIL load on the first QR drawn, not when a worker starts

    # A fixed mask: ISO 18004 allows any of the eight, decoders read them all, and searching for the
    # "best" one is most of the cost of drawing a ticket (tests decode many codes with OpenCV).
    # A ticket code's length fixes its version, so only other text is fitted (encoding it once more).
    version = TICKET_QR_VERSION if len(code) == CODE_LENGTH else None
    qr = qrcode.QRCode(version=version, error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                       mask_pattern=TICKET_QR_MASK)
    qr.add_data(qrcode.util.QRData(code, mode=qrcode.util.MODE_ALPHA_NUM))
    qr.make(fit=version is None)
    if qr.version > MAX_QR_VERSION:
        raise ValueError(f"code needs QR version {qr.version} (> {MAX_QR_VERSION})")
    return qr


def qr_png(code: str, box_size: int = 8) -> bytes:
    """A ticket code as a 1-bit PNG: the one drawing used by the ticket page, its download and the email."""
    from PIL import Image

    matrix = _qr(code).get_matrix()  # quiet zone included
    size = len(matrix)
    # One pixel per module, then scaled up: the same picture as drawing every module as a square.
    image = Image.new("1", (size, size))
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    buffer = io.BytesIO()
    image.resize((size * box_size, size * box_size), Image.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


def _image_aad(rsvp_id: int) -> bytes:
    return b"rallies:ticket-image:rsvp:%d" % rsvp_id


def ticket_png(rsvp, code: str | None = None) -> bytes:
    """The ticket's QR PNG, for an RSVP loaded with its rally and ``ticket_image`` (see ``stored_or_drawn_png``).

    ``code``: the ticket's code when the caller has it.
    """
    stored = rsvp.ticket_image
    return stored_or_drawn_png(rsvp.id, rsvp.rally_id, rsvp.rally.signing_key,
                               stored.png_sealed if stored is not None else None, code)


def stored_or_drawn_png(rsvp_id: int, rally_id: int, sealed_key: bytes | None, sealed_png: bytes | None,
                        code: str | None = None) -> bytes:
    """A ticket's QR PNG from its stored (sealed) drawing, or drawn now and stored, so the ticket email and
    the image URL draw it once between them.

    Storing commits the caller's transaction (``atomic()``). The code is made (the signing key opened)
    only when the picture has to be drawn and the caller has no ``code``.
    """
    if sealed_png is not None:
        try:
            return sealing.open_sealed(sealed_png, _image_aad(rsvp_id))
        except sealing.SealError:
            pass  # sealed under a KEK that is no longer configured: draw it again
    png = qr_png(code or code_for(rally_id, sealed_key, rsvp_id))
    with atomic():
        db.session.execute(_store_image(), {"rsvp_id": rsvp_id, "png_sealed": sealing.seal(png, _image_aad(rsvp_id))})
    return png


def _store_image():
    """Store a ticket's image, replacing one drawn at the same time by another request."""
    stmt = insert(TicketImage.__table__)
    return stmt.on_conflict_do_update(index_elements=["rsvp_id"], set_={"png_sealed": stmt.excluded.png_sealed})


def forget_images() -> int:
    """Delete every stored ticket image (KEK rotation: nothing stays sealed under an old KEK; each is drawn
    again when next needed). Call inside atomic(); returns how many were deleted."""
    return db.session.execute(sa.delete(TicketImage)).rowcount


def _link_qr(text: str) -> qrcode.QRCode:
    import qrcode

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    return qr


def link_qr_svg(text: str) -> str:
    """Any text (a door link's URL) as inline SVG, in byte mode."""
    return _svg(_link_qr(text).get_matrix())


def _svg(matrix) -> str:
    """One path with a rectangle per run of dark modules (quiet zone included in ``matrix``).

    qrcode's SvgPathImage draws every module as its own square; runs make the same picture
    in far fewer bytes, which matters on a venue's network.
    """
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1H{start}z")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{size}mm" '
            f'height="{size}mm" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/>'
            f'<path d="{"".join(runs)}"/></svg>')


def qr_version(code: str) -> int:
    """The QR version the code renders at (for tests and docs)."""
    return _qr(code).version
