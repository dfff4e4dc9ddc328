"""Email outbox: queued emails through smtplib to a local aiosmtpd sink, at a set rate, none twice.

    python -m bench.mail_outbox --engine sqlite        (or postgresql, or both)

Per engine, two cases of N queued emails (full MIME messages, as queue_email writes them): one sender
at --rate emails/s, and two `deliver_pending` senders at once, each at half of --rate
(MAIL_RATE_PER_SECOND is per sender: with several workers set it to the provider's limit divided by
their number). The sink (bench/smtp_sink.py RecordingHandler, in-process on 127.0.0.1) records each
accepted message's Message-ID and the moment of its 250; the figures come from its records: the rate
achieved (messages over the time from first to last), the most messages in any one-second window,
and how many rows arrived more than once (by Message-ID, unique per row). CPU is this process's
(senders and sink together) per email.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import threading
import time
from collections import Counter

from bench.harness import BENCH_TICKET_KEK, Row, fresh_database, write_results


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _app(url: str, port: int, rate: float):
    import logging

    from config import Config
    from rallies import create_app

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="bench-" + secrets.token_hex(16),
                     TICKET_KEK=BENCH_TICKET_KEK, LOG_LEVEL="WARNING", BASE_URL="https://rallies.example.org")
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_TIMEOUT=10,
                      MAIL_RATE_PER_SECOND=rate)
    logging.getLogger().setLevel(logging.WARNING)
    return app


def _queue_emails(app, n: int, offset: int) -> set[str]:
    """n emails in the outbox; their Message-IDs."""
    from rallies.database import atomic
    from rallies.extensions import db
    from rallies.mail.delivery import queue_email

    with app.app_context():
        with atomic():
            ids = {queue_email("bench", f"s{offset + i}@example.org", f"Rally news {i}", f"<p>Hello {i}</p>",
                               f"Hello {i}", message_key=f"bench.{offset + i}").message_id for i in range(n)}
        db.session.remove()
    return ids


def _run(app, senders: int, n: int) -> tuple[float, float, list[int]]:
    """Run ``senders`` senders until the queue is empty; (wall s, CPU s, emails each sent)."""
    from rallies.mail.delivery import deliver_pending

    sent: list[int] = []
    threads = [threading.Thread(target=lambda i=i: sent.append(deliver_pending(app, limit=n, sender=f"bench-{i}")))
               for i in range(senders)]
    t0, c0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, time.process_time() - c0, sent


def _figures(sink, since: int, queued: set[str]) -> tuple[float, int, int, int, int]:
    """(rate achieved, most in one second, rows received twice or more, rows never received, messages)."""
    with sink.lock:
        got = sink.received[since:]
    times = sorted(at for at, _ in got)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    most, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        most = max(most, i - j + 1)
    per_row = Counter(message_id for _, message_id in got)
    return rate, most, sum(1 for c in per_row.values() if c > 1), len(queued - set(per_row)), len(got)


def bench(engine: str, n: int, rate: float) -> list[Row]:
    from aiosmtpd.controller import Controller

    from bench.smtp_sink import RecordingHandler

    rows = []
    sink, port = RecordingHandler(), _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with fresh_database(engine) as url:
            for k, senders in enumerate((1, 2)):
                app = _app(url, port, rate / senders)
                queued = _queue_emails(app, n, offset=k * n)
                before = len(sink.received)
                wall, cpu, each = _run(app, senders, n)
                sent = sum(each)
                achieved, most, twice, missing, received = _figures(sink, before, queued)
                # Each sender keeps its own pace: in any second at most rate/senders + 1 each.
                ok = sent == n and received == n and twice == 0 and missing == 0 and most <= rate + senders
                rows.append(Row(
                    case=f"{n} emails, {senders} sender{'s at once' if senders > 1 else ''}, {rate:g}/s in all",
                    engine=engine, passed=ok, target=f"all {n} received once; <= {rate:g}+{senders} in any 1 s",
                    figures=(f"sent {sent} ({' + '.join(map(str, each))}), received {received}, twice {twice}, "
                             f"missing {missing}; {achieved:.1f}/s achieved, at most {most} in 1 s; {wall:.1f} s; "
                             f"CPU {1000 * cpu / max(1, sent):.2f} ms/email"),
                ))
                with app.app_context():
                    from rallies.extensions import db

                    db.session.remove()
                    db.engine.dispose()
    finally:
        controller.stop()
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--emails", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--quick", action="store_true", help="100 emails")
    args = parser.parse_args(argv)
    n = 100 if args.quick else args.emails
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    rows = [row for engine in engines for row in bench(engine, n, args.rate)]
    load = os.getloadavg()[0]
    write_results("mail_outbox", rows, title="Email outbox: rate kept, no email sent twice",
                  notes=__doc__.split("\n\n", 2)[2] + f"\nLoad average (1 min) at the end: {load:.1f} on "
                  f"{os.cpu_count()} cores. The rate achieved is below the set rate when each email's own cost "
                  "(two committed UPDATEs and one SMTP exchange) exceeds its slot on a busy machine; the pacer "
                  "never makes up for lost slots with a burst.")
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
