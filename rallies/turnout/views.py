"""Turnout pages: campaign comparison, roll-ups, forecasts, the campaign map and the rally dashboard."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required

from ..auth.guards import campaign_or_404, current_memberships, rally_or_404
from . import by_volunteer, tallies, throughput
from . import forecast as forecasting
from .blueprint import bp
from .forms import SORT_LABELS, RollupForm, TableForm
from .population import POPULATION_CREDIT

#: A rally id no real rally has; replaced in the map's dashboard link template.
URL_SENTINEL = 987654321


def table_form(campaign_id: int, form_class=TableForm):
    """The filter form bound to the query string, knowing the campaign's own states."""
    return form_class(formdata=request.args, known_states=tallies.campaign_states(campaign_id))


@bp.get("/")
@login_required
def index():
    """The campaigns the user can see; straight to the table when there is only one."""
    memberships = current_memberships()
    if len(memberships) == 1:
        return redirect(url_for(".campaign", campaign_id=memberships[0].campaign_id))
    return render_template("turnout/index.html", memberships=memberships)


@bp.get("/campaigns/<int:campaign_id>/")
@login_required
def campaign(campaign_id: int):
    """The comparison table of all the campaign's rallies: filters, sort, pagination."""
    camp = campaign_or_404(campaign_id)
    form = table_form(campaign_id)
    if not form.validate():
        return render_template("turnout/campaign.html", campaign=camp, form=form, result=None,
                               sort_labels=SORT_LABELS), 400
    result = tallies.comparison_page(campaign_id, form.filters(), form.sort.data, form.dir.data != "asc",
                                     form.page.data or 1)
    if result.clamped:
        flash(ngettext("There is only %(num)d page of results; showing the last one.",
                       "There are only %(num)d pages of results; showing the last one.", result.pages), "warning")
    return render_template("turnout/campaign.html", campaign=camp, form=form, result=result, sort_labels=SORT_LABELS,
                           phase=tallies.rally_phase, tally=tallies.rally_tally)


@bp.get("/campaigns/<int:campaign_id>/rollups")
@login_required
def rollups(campaign_id: int):
    """City and state roll-ups: turnout, rallies, average show-up rate, turnout per 100,000 residents."""
    camp = campaign_or_404(campaign_id)
    form = table_form(campaign_id, RollupForm)
    if not form.validate():
        return render_template("turnout/rollups.html", campaign=camp, form=form, rows=None,
                               credit=POPULATION_CREDIT), 400
    rows = tallies.rollups(campaign_id, form.level.data, form.filters())
    return render_template("turnout/rollups.html", campaign=camp, form=form, rows=rows, credit=POPULATION_CREDIT)


@bp.get("/campaigns/<int:campaign_id>/forecasts")
@login_required
def forecasts(campaign_id: int):
    """Upcoming rallies: expected attendance with a range and its basis, and the lanes it needs."""
    camp = campaign_or_404(campaign_id)
    factor, factor_n = throughput.peak_factor(campaign_id)
    items = []
    for rally, fc in forecasting.upcoming_forecasts(campaign_id):
        lanes = sum(d.lanes for d in tallies.rally_doors(rally.id))
        items.append((rally, fc, throughput.lane_plan(rally, fc.high, factor, lanes)))
    return render_template("turnout/forecasts.html", campaign=camp, items=items, factor=factor, factor_n=factor_n,
                           backtest=forecasting.backtest(campaign_id), rate=throughput.GREEN_GUIDE_RATE,
                           min_sample=forecasting.MIN_SAMPLE)


@bp.get("/campaigns/<int:campaign_id>/map")
@login_required
def campaign_map(campaign_id: int):
    """The campaign turnout map: circles sized by attendance or forecast, coloured by show-up rate."""
    camp = campaign_or_404(campaign_id)
    expected = {r.id: fc.expected for r, fc in forecasting.upcoming_forecasts(campaign_id, light=True)}
    from . import maps  # folium loads with the first map, not when a worker starts

    past, upcoming = maps.campaign_rows(campaign_id, expected)
    parts = maps.campaign_map(past, upcoming, url_for(".rally", rally_id=URL_SENTINEL), str(URL_SENTINEL))
    return render_template("turnout/map.html", campaign=camp, tmap=parts, past=len(past), upcoming=len(upcoming))


class BadVolunteer(ValueError):
    """The volunteer filter's value is not a sign-up id at all."""


def volunteer_arg() -> int | None:
    """The sign-up id in ?volunteer=, or None without one; BadVolunteer for a value that is not an id."""
    raw = request.args.get("volunteer", "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) < 2**31):  # ids are INTEGER
        raise BadVolunteer(_("Choose a volunteer from the list."))
    return int(raw)


@bp.get("/rallies/<int:rally_id>/")
@login_required
def rally(rally_id: int):
    """One rally's dashboard: tallies, arrival curve, door throughput, origins map (refreshes itself).

    ?volunteer=<sign-up id> draws the arrival curve and door table of that volunteer's admissions only.
    """
    r = rally_or_404(rally_id)
    status, volunteer_error, volunteer = 200, None, None
    try:
        signup_id = volunteer_arg()
    except BadVolunteer as err:
        signup_id, status, volunteer_error = None, 400, str(err)
    if signup_id is not None:
        volunteer = by_volunteer.signup_of(r.id, signup_id) or abort(404)  # another rally's or campaign's
    curve = by_volunteer.volunteer_arrival_curve(r, volunteer) if volunteer else tallies.arrival_curve(r)
    phase = tallies.rally_phase(r)
    plan = fc = None
    if phase in ("upcoming", "live"):  # during the rally the forecast is the yardstick for arrivals so far
        history = forecasting.past_rallies(r.campaign_id)
        fc = forecasting.forecast_rally(r, history)
        factor, _n = throughput.peak_factor(r.campaign_id)
        plan = throughput.lane_plan(r, fc.high, factor, sum(d.lanes for d in curve.doors))
    from . import maps

    parts = maps.rally_map(r, maps.rally_origins(r))
    return render_template(
        "turnout/rally.html", rally=r, tally=tallies.rally_tally(r), curve=curve, phase=phase, forecast=fc,
        plan=plan, loads=throughput.door_loads(curve), observed_lanes=throughput.lanes_for(curve.peak),
        green_rate=throughput.GREEN_GUIDE_RATE, tmap=parts, min_origin=maps.MIN_ORIGIN_PEOPLE,
        # People inside are the whole venue's (someone may leave by another volunteer's door): never split.
        occupancy=None if volunteer else tallies.occupancy(r, curve.minutes),
        volunteer=volunteer, volunteers=by_volunteer.scanning_volunteers(r.id), volunteer_error=volunteer_error,
    ), status

