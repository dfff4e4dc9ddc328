"""flask commands for turnout: the forecast backtest and the turnout benchmark data generator."""

from __future__ import annotations

import click

from ..extensions import db
from ..models import Campaign


@click.command("forecast-backtest")
@click.option("--campaign", "campaign_id", type=int, default=None,
              help="Campaign id (default: every campaign with past rallies).")
def forecast_backtest_command(campaign_id: int | None) -> None:
    """Forecast each past rally from the ones before it and print the mean absolute percentage error."""
    from .forecast import backtest

    query = db.select(Campaign).order_by(Campaign.id)
    if campaign_id is not None:
        query = query.where(Campaign.id == campaign_id)
    campaigns = list(db.session.scalars(query))
    if not campaigns:
        raise click.ClickException("No such campaign.")
    for camp in campaigns:
        bt = backtest(camp.id)
        if not bt.forecasts:
            click.echo(f"{camp.name} (#{camp.id}): not enough past rallies to backtest.")
            continue
        bases = ", ".join(f"{k} {v}" for k, v in sorted(bt.by_basis.items()))
        click.echo(
            f"{camp.name} (#{camp.id}): mean absolute percentage error {bt.mape:.1%} over {bt.forecasts} rallies "
            f"(basis: {bases}); {bt.coverage:.0%} of actual turnouts inside the forecast range; "
            f"{bt.skipped_first} first rall{'y' if bt.skipped_first == 1 else 'ies'} had nothing before "
            f"{'it' if bt.skipped_first == 1 else 'them'}."
        )
