"""Flask's signed-cookie sessions, with the signing serializer built once per key set.

Flask builds a new URLSafeTimedSerializer (key list, signer settings) when it opens and
again when it saves every session, even for requests without a cookie. The serializer
holds no per-request state, so one per set of keys gives the same cookies for less work.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SignedCookieSessions(SecureCookieSessionInterface):
    """SecureCookieSessionInterface with its serializer cached per (fallback keys..., secret key)."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            self._serializers = {keys: serializer}  # only the current key set is ever used again
        return serializer
