"""Screenshots from the browser tests, for reviewing what a page looks like (issue notes, docs).

Off unless RALLIES_SCREENSHOTS names a folder: `RALLIES_SCREENSHOTS=docs/screenshots pytest -m browser`.
JPEG at quality 70 keeps them small enough to commit.
"""

from __future__ import annotations

import os
from pathlib import Path


def save(page, name: str, *, full_page: bool = False) -> Path | None:
    """Write the page as <folder>/<name>.jpg when screenshots are on; returns the path."""
    folder = os.environ.get("RALLIES_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder) / f"{name}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), type="jpeg", quality=70, full_page=full_page)
    return path
