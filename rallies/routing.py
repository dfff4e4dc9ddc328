"""URL converters and the request class shared by every blueprint: whole numbers stay in range, and
text in a path is text a database can compare."""

from __future__ import annotations

import flask
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter

#: The largest id a URL can name: primary keys in URLs are INTEGER, 32-bit signed on PostgreSQL
#: (a bigger number fails the query's cast there, and overflows SQLite's 64-bit integers further up).
MAX_ID = 2**31 - 1
#: The longest text one path parameter may hold (slugs are at most 160 characters, secrets 43).
MAX_SEGMENT = 500
#: Never in a path parameter: control characters (PostgreSQL refuses NUL in text, so a query would fail),
#: and U+FFFD, which is what werkzeug decodes bytes that are not UTF-8 (a lone surrogate among them) to.
_REFUSED = r"\x00-\x1f\x7f\ufffd"


class IdConverter(IntegerConverter):
    """``<int:...>`` that refuses numbers no row can have: a huge id is a 404, not a database overflow."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class TextConverter(UnicodeConverter):
    """The default ``<name>`` (and ``<string:...>``): one segment of printable text, at most MAX_SEGMENT long.

    Anything else does not match the route, so it is a 404 before any view or query sees it.
    """

    def __init__(self, map, minlength=1, maxlength=MAX_SEGMENT, length=None):  # noqa: A002 (werkzeug's names)
        super().__init__(map, minlength=minlength, maxlength=maxlength, length=length)
        self.regex = self.regex.replace("[^/]", f"[^/{_REFUSED}]", 1)


class TextPathConverter(PathConverter):
    """``<path:...>`` with the same refusals as TextConverter (static file names)."""

    regex = f"[^/{_REFUSED}][^{_REFUSED}]{{0,{MAX_SEGMENT * 2}}}?"
    part_isolating = False


class _BoundedArgs(ImmutableMultiDict):
    """Query and form values where ``get(..., type=int)`` treats a number no INTEGER column holds as invalid.

    Views read page numbers and ids with ``request.args.get("page", 1, type=int)``; werkzeug gives the
    default for non-numbers, and this gives it for ``page=10**30`` too, which SQL could not take.
    """

    def get(self, key, default=None, type=None):  # noqa: A002 (werkzeug's names)
        value = super().get(key, default, type)
        if type is int and isinstance(value, int) and not -MAX_ID <= value <= MAX_ID:
            return default
        return value


class Request(flask.Request):
    """The app's request: bounded whole numbers from query strings and forms."""

    parameter_storage_class = _BoundedArgs


def safe_next(target: str | None) -> str | None:
    r"""Only same-site relative paths, never //host or scheme URLs.

    Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so
    "/\t/evil.example" or "/\\evil.example" would become "//evil.example": refuse them all.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    return target
