"""Who carries a text: Twilio in production, files in the instance folder without credentials.

A provider's ``send(to, body, *, idempotency_key)`` returns the provider's message id once the
provider has accepted the message (Twilio answers 201), and raises ``ProviderError`` when it refuses
(``retryable`` for 429 and 5xx) or ``ProviderUnreachable`` when it cannot be reached. Twilio's Messages
API takes no idempotency key, so the key only names the message (the file, the logs): a sender that
dies between Twilio's 201 and its own "sent" mark sends once more, as email does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

#: Twilio error codes (https://www.twilio.com/docs/api/errors).
INVALID_NUMBER = 21211
UNSUBSCRIBED = 21610


class ProviderError(Exception):
    """The provider refused the message."""

    def __init__(self, status: int, code: int | None, message: str):
        super().__init__(f"{status} {code or ''} {message}".strip())
        self.status, self.code = status, code

    @property
    def retryable(self) -> bool:
        """Too many requests, a server error or our own credentials refused (fixable without touching the
        message): try again later. Anything else (an invalid or unsubscribed number) is final."""
        return self.status in (401, 429) or self.status >= 500

    @property
    def unsubscribed(self) -> bool:
        """The recipient had replied STOP to the sending number (Twilio refuses to text them)."""
        return self.code == UNSUBSCRIBED


class ProviderUnreachable(Exception):
    """No answer from the provider (connection refused, timeout): the rest of the batch waits."""


class Provider(Protocol):
    """What the SMS sender needs of a provider."""

    def send(self, to: str, body: str, *, idempotency_key: str) -> str:
        """Hand over one text; the provider's message id once it is accepted."""
        ...


class TwilioProvider:
    """Twilio's Messages API through the official client; ``api_base`` points it elsewhere (tests, benchmarks)."""

    def __init__(self, account_sid: str, auth_token: str, *, from_number: str = "", messaging_service_sid: str = "",
                 api_base: str = "", timeout: float = 10.0):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
        if api_base:
            # The Api domain's base URL is a public attribute; every Messages URL is built on it.
            self.client.api.base_url = api_base.rstrip("/")
        self.sender = ({"messaging_service_sid": messaging_service_sid} if messaging_service_sid
                       else {"from_": from_number})

    def send(self, to: str, body: str, *, idempotency_key: str) -> str:
        """POST the message; its SID once Twilio answers 201."""
        from twilio.base.exceptions import TwilioRestException

        try:
            message = self.client.messages.create(to=to, body=body, **self.sender)
        except TwilioRestException as exc:
            raise ProviderError(exc.status, exc.code, exc.msg) from None
        except OSError as exc:  # requests' errors are OSErrors
            raise ProviderUnreachable(f"{type(exc).__name__}: {exc}") from None
        log.info("SMS %s accepted by Twilio as %s", idempotency_key, message.sid)
        return message.sid


class FileProvider:
    """Development and the demo: each message becomes ``<folder>/<idempotency_key>.txt``."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, to: str, body: str, *, idempotency_key: str) -> str:
        """Write the text (a resend overwrites the same file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{idempotency_key}.txt"
        path.write_text(f"To: {to}\n\n{body}\n", encoding="utf-8")
        log.info("SMS %s written to %s", idempotency_key, path)
        return f"file:{idempotency_key}"


def provider_for(config, instance_path: str) -> Provider:
    """Twilio when TWILIO_ACCOUNT_SID is set, else files in ``instance/sms``."""
    if config.get("TWILIO_ACCOUNT_SID"):
        return TwilioProvider(
            config["TWILIO_ACCOUNT_SID"], config.get("TWILIO_AUTH_TOKEN", ""), from_number=config.get("TWILIO_FROM", ""),
            messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID", ""),
            api_base=config.get("TWILIO_API_BASE", ""), timeout=float(config.get("SMS_TIMEOUT", 10)))
    return FileProvider(Path(instance_path) / "sms")
