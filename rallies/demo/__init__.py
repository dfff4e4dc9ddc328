"""Deterministic, offline demo data. Each part is idempotent: running twice duplicates nothing."""

from __future__ import annotations

from collections.abc import Iterator


def load_demo() -> Iterator[str]:
    """Create the demo campaign and its data; yield lines to print."""
    from . import accounts

    yield from accounts.load()
    # Later parts (rallies, RSVPs, check-ins) are added as their features land.
    for name in ("rallies", "rsvps", "checkins", "volunteers"):
        try:
            module = __import__(f"{__name__}.{name}", fromlist=["load"])
        except ModuleNotFoundError:
            continue
        yield from module.load()
