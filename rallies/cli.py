"""flask commands: create-user, demo, and the workers."""

from __future__ import annotations

import click
from flask import Flask

from .database import atomic


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_command)


@click.command("create-user")
@click.option("--email", prompt=True)
@click.option("--name", default="")
@click.option("--campaign", "campaign_name", default="My campaign", show_default=True)
@click.password_option()
def create_user_command(email: str, name: str, campaign_name: str, password: str) -> None:
    """Create an organizer account that owns a new campaign."""
    from .services.accounts import AccountError, create_user
    from .services.passwords import password_problem

    problem = password_problem(password)
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
