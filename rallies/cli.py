"""flask commands: create-user, demo, the workers, and KEK rotation."""

from __future__ import annotations

import click
from flask import Flask

from .database import atomic


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(outbox_worker_command)
    app.cli.add_command(send_reminders_command)
    app.cli.add_command(send_scheduled_command)
    app.cli.add_command(send_automatic_command)
    app.cli.add_command(rotate_ticket_kek_command)
    from .turnout.commands import forecast_backtest_command

    app.cli.add_command(forecast_backtest_command)


@click.command("create-user")
@click.option("--email", prompt=True)
@click.option("--name", default="")
@click.option("--campaign", "campaign_name", default="My campaign", show_default=True)
@click.password_option()
def create_user_command(email: str, name: str, campaign_name: str, password: str) -> None:
    """Create an organizer account that owns a new campaign."""
    from .auth.accounts import AccountError, create_user
    from .auth.passwords import password_problem

    problem = password_problem(password, email=email, name=name)
    if problem:
        raise click.BadParameter(problem, param_hint="password")
    try:
        with atomic():
            user = create_user(email, password, name=name, campaign_name=campaign_name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.email} (owner of campaign {campaign_name!r}).")


@click.command("demo")
def demo_command() -> None:
    """Load deterministic, offline demo data (safe to run twice)."""
    from .demo import load_demo

    for line in load_demo():
        click.echo(line)


@click.command("outbox-worker")
@click.option("--once", is_flag=True, help="Deliver what is due now and exit (for cron).")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between polls.")
def outbox_worker_command(once: bool, interval: float) -> None:
    """Deliver queued email and texts (run several at once safely: each message is claimed first). Each
    pass first queues the automatic messages that are due and the organizer messages whose time has come
    (each goes once, however many workers run)."""
    import time

    from .mail.delivery import deliver_pending
    from .messaging.queueing import queue_due_messages
    from .rsvp.automatic import queue_automatic
    from .sms.delivery import deliver_pending_sms

    while True:
        queue_due_messages()
        queued = queue_automatic()
        if any(queued.values()):
            click.echo(f"Queued {_describe(queued)}.")
        sent = deliver_pending()
        texts = deliver_pending_sms()
        if sent:
            click.echo(f"Sent {sent} message(s).")
        if texts:
            click.echo(f"Sent {texts} text(s).")
        sent += texts
        if once:
            break
        if not sent:
            time.sleep(interval)


@click.command("send-reminders")
@click.option("--hours", default=36, show_default=True, help="Remind RSVPs of rallies starting within this many hours.")
def send_reminders_command(hours: int) -> None:
    """Queue the day-before reminder for upcoming rallies (never twice for the same RSVP)."""
    from .rsvp.reminders import queue_reminders

    count = queue_reminders(within_hours=hours)
    click.echo(f"Queued {count} reminder(s).")


@click.command("send-scheduled")
def send_scheduled_command() -> None:
    """Queue the organizer messages whose scheduled time has come (safe to run in several places at once)."""
    from .messaging.queueing import queue_due_messages

    count = queue_due_messages()
    click.echo(f"Queued {count} scheduled message(s).")


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind.replace('_', '-')}" for kind, n in counts.items())


@click.command("send-automatic")
def send_automatic_command() -> None:
    """Queue the automatic messages due now: day-before and day-of reminders, thank-yous, missed-yous (never twice)."""
    from .rsvp.automatic import queue_automatic

    click.echo(f"Queued {_describe(queue_automatic())}.")


@click.command("rotate-ticket-kek")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows resealed per transaction.")
def rotate_ticket_kek_command(batch_size: int) -> None:
    """Reseal every rally signing key and ticket-page token under TICKET_KEK (reading with TICKET_KEK_OLD).

    Safe to run again, or while the app serves: rows already under the current KEK are skipped.
    """
    from .keys.rekey import reseal_page_tokens, reseal_signing_keys, reseal_volunteer_secrets
    from .keys.sealing import SealError
    from .rsvp.tickets import forget_images

    try:
        keys = reseal_signing_keys(batch_size)
        tokens = reseal_page_tokens(batch_size * 4)
        volunteers = reseal_volunteer_secrets(batch_size * 4)
    except SealError as exc:
        raise click.ClickException(f"{exc}. Put every KEK still in use in TICKET_KEK_OLD and run again.") from exc
    with atomic():
        images = forget_images()  # drawn again, under the new KEK, when next needed
    click.echo(f"Done: resealed {keys} rally key(s) and {tokens} ticket token(s), and {volunteers} volunteer "
               "sign-up(s), under the current TICKET_KEK "
               f"(and dropped {images} stored QR image(s), drawn again when needed). "
               "Keep TICKET_KEK_OLD until every worker runs with the new TICKET_KEK, then remove it.")

