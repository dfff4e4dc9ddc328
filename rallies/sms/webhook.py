"""Blueprint ``sms`` at ``/sms``: Twilio's webhook for texts supporters send to our number."""

from __future__ import annotations

from flask import Response, abort, current_app, request

from ..extensions import csrf, limiter
from . import inbound
from .blueprint import bp


def _inbound_limit() -> str:
    return current_app.config["RATELIMIT_SMS_INBOUND"]


def _signed_by_twilio() -> bool:
    """X-Twilio-Signature matches the public URL (BASE_URL + path: behind a proxy the request's own URL differs)."""
    from twilio.request_validator import RequestValidator

    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    url = current_app.config["BASE_URL"].rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return RequestValidator(token).validate(url, request.form.to_dict(), signature)


def _twiml(reply: str | None) -> Response:
    from twilio.twiml.messaging_response import MessagingResponse

    response = MessagingResponse()
    if reply:
        response.message(reply)  # the library escapes it as XML
    return Response(str(response), mimetype="application/xml")


@bp.post("/inbound")
@csrf.exempt
@limiter.limit(_inbound_limit)
def inbound_text():
    """A text to our number: STOP, START or HELP, answered in TwiML; 403 unless Twilio signed it."""
    if not _signed_by_twilio():
        abort(403)
    form = request.form
    result = inbound.handle_inbound(form.get("From", ""), form.get("Body", ""), form.get("MessageSid", ""),
                                    form.get("OptOutType", ""))
    return _twiml(result.reply)
