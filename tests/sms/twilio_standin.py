"""A stand-in for Twilio on 127.0.0.1: enough of the Messages API for the real ``twilio`` client, and
Twilio's side of the inbound webhook (signed exactly as Twilio signs it).

Outbound: ``POST /2010-04-01/Accounts/<sid>/Messages.json`` with Basic auth and form-encoded
To/From/Body answers 201 with a JSON message (sid, status "queued"); ``fail_next(status, code)``
makes the next answers refusals with a Twilio error body. Every request is recorded.
Inbound: ``signed_post(client_or_url, url, params)`` posts a text "from a phone" to the app
with an X-Twilio-Signature computed by twilio.request_validator (HMAC-SHA1 of URL + sorted params).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "standin-auth-token"  # noqa: S105
FROM_NUMBER = "+15005550006"
#: Never through a proxy: the app is on 127.0.0.1.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_PATH = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")


class Received(NamedTuple):
    """One request the stand-in answered."""

    account: str
    auth: tuple[str, str] | None
    form: dict
    status: int
    at: float


class TwilioStandIn:
    """Run with ``with TwilioStandIn() as twilio:``; ``twilio.base_url`` is what TWILIO_API_BASE should be."""

    def __init__(self):
        self.received: list[Received] = []
        self.failures: list[tuple[int, int]] = []
        self.lock = threading.Lock()
        self._sids = itertools.count(1)
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Twilio's API
            disable_nagle_algorithm = True  # headers and body go as two writes: no 40 ms delayed-ACK stall
            def do_POST(self):  # noqa: N802
                standin._answer(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def fail_next(self, status: int, code: int, times: int = 1) -> None:
        """The next ``times`` messages are refused with this HTTP status and Twilio error code."""
        with self.lock:
            self.failures.extend([(status, code)] * times)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(handler.rfile.read(length).decode()))
        auth = None
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            auth = (user, password)
        match = _PATH.match(handler.path)
        with self.lock:
            failure = self.failures.pop(0) if self.failures and match else None
            if not match:
                status, body = 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
            elif auth != (ACCOUNT_SID, AUTH_TOKEN):
                status, body = 401, {"code": 20003, "message": "Authenticate", "status": 401}
            elif failure:
                status, body = failure[0], {"code": failure[1], "message": f"Error {failure[1]}", "status": failure[0],
                                            "more_info": f"https://www.twilio.com/docs/errors/{failure[1]}"}
            else:
                status = 201
                body = {"sid": f"SM{next(self._sids):032x}", "account_sid": match.group(1), "to": form.get("To"),
                        "from": form.get("From"), "body": form.get("Body"), "status": "queued",
                        "messaging_service_sid": form.get("MessagingServiceSid"), "num_segments": "1",
                        "uri": handler.path, "direction": "outbound-api"}
            self.received.append(Received(match.group(1) if match else "", auth, form, status, time.monotonic()))
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def accepted(self) -> list[dict]:
        """The form of every message answered 201, in order."""
        with self.lock:
            return [r.form for r in self.received if r.status == 201]

    def per_key(self) -> Counter:
        """How many requests (any answer) each (To, Body) got: more than one 201 for one is a duplicate send."""
        with self.lock:
            return Counter((r.form.get("To"), r.form.get("Body")) for r in self.received if r.status == 201)


def signature(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature as Twilio computes it for a POST to ``url`` with ``params``."""
    return RequestValidator(token).compute_signature(url, params)


def inbound_params(from_number: str, body: str, to: str = FROM_NUMBER) -> dict:
    """The form Twilio posts for a text a phone sent to our number."""
    return {"MessageSid": "SM" + "f" * 32, "AccountSid": ACCOUNT_SID, "From": from_number, "To": to, "Body": body,
            "NumMedia": "0"}


def post_inbound(server_url: str, public_url: str, params: dict, token: str = AUTH_TOKEN, *,
                 forged: bool = False) -> tuple[int, str]:
    """POST a signed inbound text over real HTTP to the app at ``server_url`` (signed for ``public_url``,
    what BASE_URL says, as Twilio would). Returns (status, body)."""
    sig = signature(public_url, params, token)
    if forged:
        sig = signature(public_url, params, "not-the-token")
    request = urllib.request.Request(server_url, data=urllib.parse.urlencode(params).encode(), method="POST",
                                     headers={"X-Twilio-Signature": sig,
                                              "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with _DIRECT.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
