"""A separate worker process for tests/rsvp/test_automatic.py: build the app on the test database, wait
until every worker is ready (files in a folder), then run queue_automatic(now) once and print its counts."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

from config import TestingConfig
from rallies import create_app
from rallies.rsvp.automatic import queue_automatic


def main(uri: str, now: str, folder: str, name: str, workers: int) -> None:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=uri)
    with app.app_context():
        ready = Path(folder)
        (ready / f"{name}.ready").touch()
        deadline = time.monotonic() + 60
        while len(list(ready.glob("*.ready"))) < workers and time.monotonic() < deadline:
            time.sleep(0.01)
        print(json.dumps(queue_automatic(datetime.fromisoformat(now))))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
