"""A counting SMTP server for the benchmarks: accepts every message on 127.0.0.1 and counts it.

    python -m bench.smtp_sink PORT COUNT_FILE

Each accepted message appends one byte to COUNT_FILE, so its size is the number received.
In-process, ``RecordingHandler`` keeps each message's Message-ID and the moment it was accepted.
"""

from __future__ import annotations

import sys
import threading
import time
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller


class CountingHandler:
    """Accept and count; keep nothing of the message."""

    def __init__(self, path: str):
        self.file = open(path, "ab", buffering=0)  # noqa: SIM115  open for the server's life

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802  aiosmtpd's hook name
        """Count the message."""
        self.file.write(b".")
        return "250 OK"


class RecordingHandler:
    """Accept and record (time.monotonic() at the 250, Message-ID) for each message."""

    def __init__(self):
        self.received: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802  aiosmtpd's hook name
        """Record the message."""
        message_id = BytesHeaderParser().parsebytes(envelope.content)["Message-ID"]
        with self.lock:
            self.received.append((time.monotonic(), message_id))
        return "250 OK"


def main() -> None:
    """Serve until killed."""
    port, path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(CountingHandler(path), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
