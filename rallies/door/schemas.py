"""What the door JSON API accepts, as pydantic models (described for clients in static/openapi/door.yaml).

The models check shape and types only: a whole number is an int and never a bool, a time is
epoch milliseconds or ISO 8601 with an offset, text holds no NUL (PostgreSQL refuses it in any
query) and ids fit a BIGINT. What a value means (a nonce's format, a party's size, a name being
required) is a rule of the check-in services, which say so with their own error codes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

BIGINT = 2**63 - 1
MAX_UPLOAD = 2000


class SchemaError(Exception):
    """A request that does not fit its schema: the field at fault, as an error code and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("Text cannot contain NUL characters.")
    return value


def _client_time(value: Any) -> datetime | None:
    """Epoch milliseconds or ISO 8601 with an offset, as an aware UTC datetime (None when absent)."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, UTC)
        if isinstance(value, str) and len(value) <= 40:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                return moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise ValueError("client_time must be epoch milliseconds or ISO 8601 with a time zone.")


Text = Annotated[str, BeforeValidator(_no_nul), Field(strict=True)]
Id = Annotated[int, Field(strict=True, ge=-BIGINT, le=BIGINT)]
Count = Annotated[int, Field(strict=True, ge=-BIGINT, le=BIGINT)]
ClientTime = Annotated[datetime | None, BeforeValidator(_client_time)]


class _Body(BaseModel):
    # Clients may send fields a newer API knows; unknown ones are ignored.
    model_config = ConfigDict(extra="ignore")


class ScanIn(_Body):
    """One scan: a code read off a ticket, or a ticket_id picked from a name search."""

    code: Annotated[str, BeforeValidator(_no_nul), Field(strict=True)] | None = None
    ticket_id: Id | None = None
    nonce: Text | None = None
    client_time: ClientTime = None
    people: Count | None = None
    force: Annotated[bool, Field(strict=True)] = False
    #: entry (the default) or exit: the scanner's mode.
    direction: Literal["entry", "exit"] = "entry"
    #: A supervisor's reason for admitting past VENUE FULL (with force).
    override_reason: Text = ""


class UploadScanIn(ScanIn):
    """An offline scan: what the device decided, and whether it says it was online."""

    kind: Literal["scan"] = "scan"
    device_verdict: Text = "admit"
    online: Annotated[bool, Field(strict=True)] | None = None
    offline: Annotated[bool, Field(strict=True)] | None = None


class WalkinIn(_Body):
    """A walk-in party registered at the door."""

    name: Text = ""
    email: Text = ""
    postal_code: Text = ""
    guests: Count = 0
    nonce: Text | None = None
    client_time: ClientTime = None


class UploadWalkinIn(WalkinIn):
    kind: Literal["walkin"]
    online: Annotated[bool, Field(strict=True)] | None = None
    offline: Annotated[bool, Field(strict=True)] | None = None


class UndoIn(_Body):
    ticket_id: Id
    reason: Text = ""
    people: Count | None = None
    nonce: Text | None = None


class ReduceIn(_Body):
    scan_id: Id
    keep: Count
    nonce: Text | None = None


class UploadIn(_Body):
    scans: list[Any] = Field(max_length=MAX_UPLOAD)


class LogQuery(_Body):
    before: Annotated[int, Field(ge=0, le=BIGINT)] = 0
    limit: Annotated[int, Field(ge=-BIGINT, le=BIGINT)] = 50
    door: str = ""
    hide_invalid: str = ""


class SyncQuery(_Body):
    since: Annotated[int, Field(ge=-BIGINT, le=BIGINT)] = 0
    #: "delta": each ticket's id as the difference from the one before (rallies/door/sync.py delta_ids).
    ids: Literal["plain", "delta"] = "plain"


class SearchQuery(_Body):
    q: Annotated[str, BeforeValidator(_no_nul)] = ""


#: Error codes by the field at fault (the codes the API has always answered).
FIELD_CODES = {
    "client_time": "invalid_client_time", "people": "invalid_people", "keep": "invalid_people",
    "ticket_id": "invalid_ticket_id", "scan_id": "invalid_scan_id", "guests": "invalid_guests",
    "nonce": "invalid_nonce", "code": "invalid_code", "force": "invalid_force", "reason": "invalid_reason", "name": "invalid_name", "email": "invalid_email", "scans": "invalid_scans",
    "since": "invalid_cursor", "direction": "invalid_direction",
    "override_reason": "invalid_reason", "before": "invalid_paging", "limit": "invalid_paging", "kind": "invalid_scan",
}


def load(model: type[_Body], data: Any):
    """The validated model for data, or SchemaError naming the first field at fault."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False, include_input=False)[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        message = first.get("msg", "Invalid value.").removeprefix("Value error, ")
        if "NUL" in message:
            raise SchemaError("invalid_text", message) from None
        code = FIELD_CODES.get(field, "invalid_request")
        raise SchemaError(code, f"{field}: {message}" if field else message) from None


def load_upload_item(item: Any):
    """One item of an offline upload: a scan, or a walk-in (kind: walkin)."""
    if not isinstance(item, dict):
        raise SchemaError("invalid_scan", "Each scan must be an object.")
    return load(UploadWalkinIn if item.get("kind") == "walkin" else UploadScanIn, item)
