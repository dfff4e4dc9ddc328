"""CSV that spreadsheets cannot turn into formulas (CSV/formula injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def safe_cell(value) -> str:
    """The cell as text; a leading formula trigger is neutralised with a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.startswith(_TRIGGERS):
        return "'" + text
    return text


def csv_rows(header: Sequence[str], rows: Iterable[Sequence]) -> Iterable[str]:
    """Yield CSV lines (for streaming responses), header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(v) for v in row])
        yield buffer.getvalue()


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """The whole CSV document as one string."""
    return "".join(csv_rows(header, rows))
