"""URL converters and the request class shared by every blueprint: whole numbers stay in range."""

from __future__ import annotations

import flask
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

#: The largest id a URL can name: primary keys in URLs are INTEGER, 32-bit signed on PostgreSQL
#: (a bigger number fails the query's cast there, and overflows SQLite's 64-bit integers further up).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` that refuses numbers no row can have: a huge id is a 404, not a database overflow."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


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
