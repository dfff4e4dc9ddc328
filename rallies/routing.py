"""URL converters shared by every blueprint."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

#: The largest id a URL can name: primary keys in URLs are INTEGER, 32-bit signed on PostgreSQL
#: (a bigger number fails the query's cast there, and overflows SQLite's 64-bit integers further up).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` that refuses numbers no row can have: a huge id is a 404, not a database overflow."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
