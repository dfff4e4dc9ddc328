"""Turnout data as JSON (/turnout/api/...) and CSV exports, for logged-in campaign members (viewers too)."""

from __future__ import annotations

from datetime import datetime
from functools import wraps

from flask import Response, jsonify, request, stream_with_context
from flask_login import current_user, login_required

from ..auth.guards import campaign_or_404, rally_or_404
from ..dates import in_range, range_message
from ..errors import ApiError
from ..models import utcnow
from . import by_volunteer, exports, tallies
from . import forecast as forecasting
from .blueprint import bp
from .forms import RollupForm, TableForm
from .views import BadVolunteer, table_form, volunteer_arg

#: Largest page the JSON check-in log returns.
MAX_CHECKIN_PAGE = 5000


def api_login(view):
    """401 JSON (not a redirect to the login page) for anonymous API calls."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            raise ApiError(401, "unauthorized", "Log in to read turnout data.")
        return view(*args, **kwargs)

    return wrapped


def _valid_or_400(form):
    if not form.validate():
        fields = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
        first = next(iter(fields.values()))[0]
        raise ApiError(400, "invalid_filter", first, fields=fields)
    return form


def _csv(lines, filename: str) -> Response:
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- CSV exports ---------------------------------------------------------------------------------


@bp.get("/campaigns/<int:campaign_id>/rallies.csv")
@login_required
def rallies_csv(campaign_id: int):
    """The comparison table (all pages, current filters and order) as CSV."""
    campaign_or_404(campaign_id)
    form = table_form(campaign_id)
    if not form.validate():
        return Response("Bad filter: " + "; ".join(str(e) for errs in form.errors.values() for e in errs) + "\n",
                        status=400, mimetype="text/plain")
    rows = tallies.comparison_rows(campaign_id, form.filters(), form.sort.data, form.dir.data != "asc")
    return _csv(exports.rallies_csv(rows), f"campaign-{campaign_id}-rallies.csv")


@bp.get("/campaigns/<int:campaign_id>/rollups.csv")
@login_required
def rollups_csv(campaign_id: int):
    """City or state roll-ups as CSV."""
    campaign_or_404(campaign_id)
    form = table_form(campaign_id, RollupForm)
    if not form.validate():
        return Response("Bad filter: " + "; ".join(str(e) for errs in form.errors.values() for e in errs) + "\n",
                        status=400, mimetype="text/plain")
    rows = tallies.rollups(campaign_id, form.level.data, form.filters())
    return _csv(exports.rollups_csv(rows), f"campaign-{campaign_id}-{form.level.data}-rollups.csv")


@bp.get("/rallies/<int:rally_id>/checkins.csv")
@login_required
def checkins_csv(rally_id: int):
    """The rally's check-in log as CSV (streamed; door names only, no emails)."""
    r = rally_or_404(rally_id)
    return _csv(exports.checkins_csv(r), f"rally-{rally_id}-checkins.csv")


# --- JSON ------------------------------------------------------------------------------------------


@bp.get("/api/campaigns/<int:campaign_id>/rallies")
@api_login
def api_rallies(campaign_id: int):
    """The comparison table as JSON: same filters, sort and page as the page."""
    campaign_or_404(campaign_id)
    form = _valid_or_400(table_form(campaign_id, TableForm))
    page = tallies.comparison_page(campaign_id, form.filters(), form.sort.data, form.dir.data != "asc",
                                   form.page.data or 1)
    return jsonify(rallies=[exports.rally_record(r) for r in page.rows], total=page.total, page=page.page,
                   pages=page.pages, per_page=page.per_page, clamped=page.clamped)


@bp.get("/api/campaigns/<int:campaign_id>/rollups")
@api_login
def api_rollups(campaign_id: int):
    """City or state roll-ups as JSON."""
    campaign_or_404(campaign_id)
    form = _valid_or_400(table_form(campaign_id, RollupForm))
    rows = tallies.rollups(campaign_id, form.level.data, form.filters())
    return jsonify(level=form.level.data, rollups=[exports.rollup_record(r) for r in rows])


@bp.get("/api/campaigns/<int:campaign_id>/forecasts")
@api_login
def api_forecasts(campaign_id: int):
    """Forecasts for the campaign's upcoming rallies, and the method's backtest error."""
    campaign_or_404(campaign_id)
    bt = forecasting.backtest(campaign_id)
    items = [{"rally_id": r.id, "title": r.title, "starts_at": r.starts_at.isoformat(), **fc.as_dict()}
             for r, fc in forecasting.upcoming_forecasts(campaign_id)]
    return jsonify(forecasts=items, backtest={"forecasts": bt.forecasts, "mape": bt.mape, "coverage": bt.coverage,
                                              "by_basis": bt.by_basis})


@bp.get("/api/campaigns/<int:campaign_id>/origins")
@api_login
def api_origins(campaign_id: int):
    """Where the campaign's checked-in people came from: ZIP centroids with 5+ people, for the heat map."""
    campaign_or_404(campaign_id)
    from . import maps  # folium loads on first use, not when a worker starts

    origins = maps.campaign_origins(campaign_id)
    return jsonify(points=maps.heat_points(origins), zips=len(origins),
                   people=sum(p for _la, _lo, p in origins), min_people=maps.MIN_ORIGIN_PEOPLE)


@bp.get("/api/rallies/<int:rally_id>")
@api_login
def api_rally(rally_id: int):
    """One rally's tallies, per-door peaks and arrival curve (UTC minutes); ?volunteer=<sign-up id>: the curve
    and door totals of that volunteer's admissions only (and no occupancy: it is the whole venue's)."""
    r = rally_or_404(rally_id)
    volunteer = _volunteer_or_error(r.id)
    curve = by_volunteer.volunteer_arrival_curve(r, volunteer) if volunteer else tallies.arrival_curve(r)
    return jsonify(
        rally=exports.rally_record(r), tally=tallies.rally_tally(r).as_dict(),
        volunteer={"id": volunteer.id, "name": volunteer.name} if volunteer else None,
        occupancy=None if volunteer else _occupancy(r, curve.minutes),
        minutes=[m.isoformat() for m in curve.minutes],
        labels=[tallies.local_label(m, r.timezone) for m in curve.minutes], timezone=r.timezone, total=curve.total, peak=curve.peak,
        doors=[{"door_id": d.door_id, "name": d.name, "lanes": d.lanes, "checked_in_people": d.checked_in_people,
                "walkin_people": d.walkin_people, "peak": d.peak, "counts": d.counts} for d in curve.doors],
    )


def _volunteer_or_error(rally_id: int):
    try:
        signup_id = volunteer_arg()
    except BadVolunteer:
        raise ApiError(400, "invalid_parameter", "volunteer must be the id of one of the rally's volunteers.") from None
    if signup_id is None:
        return None
    signup = by_volunteer.signup_of(rally_id, signup_id)
    if signup is None:
        raise ApiError(404, "not_found", "The rally has no volunteer with that id.")
    return signup


def _occupancy(r, minutes) -> dict:
    occupancy = tallies.occupancy(r, minutes)
    return {"venue": occupancy.venue, "overflow": occupancy.overflow, "peak": occupancy.peak,
            "safe_capacity": r.safe_capacity, "overflow_name": r.overflow_name, "inside_now": r.inside_people,
            "over_limit": [{"start": o.start.isoformat(), "end": o.end.isoformat(), "peak": o.peak,
                            "over_by": o.over_by} for o in occupancy.over_limit]}


@bp.get("/api/rallies/<int:rally_id>/live")
@api_login
def api_live(rally_id: int):
    """The dashboard's refresh: counters, door totals and arrival minutes since `since` (ISO, UTC).

    Cheap on purpose: the rally row, its doors and the newest minute rows, all by index.
    """
    r = rally_or_404(rally_id)
    since = _since_arg()
    doors = tallies.rally_doors(r.id)
    rows = tallies.arrival_rows(r.id, since)
    return jsonify(
        now=utcnow().isoformat(), phase=tallies.rally_phase(r), tally=tallies.rally_tally(r).as_dict(),
        doors=[{"door_id": d.id, "name": d.name, "lanes": d.lanes, "checked_in_people": d.checked_in_people,
                "walkin_people": d.walkin_people} for d in doors],
        arrivals=[{"door_id": d, "minute": m.isoformat(), "label": tallies.local_label(m, r.timezone),
                   "people": p, "walkins": w} for d, m, p, w in rows],
    )


@bp.get("/api/rallies/<int:rally_id>/checkins")
@api_login
def api_checkins(rally_id: int):
    """The check-in log as JSON, paged by id: ?after=<last checkin_id>&limit=<n>."""
    r = rally_or_404(rally_id)
    after = _int_arg("after", 0, 0, 2**62)
    limit = _int_arg("limit", 1000, 1, MAX_CHECKIN_PAGE)
    items = list(exports.checkin_records(r, after, limit))
    return jsonify(checkins=items, next_after=items[-1]["checkin_id"] if len(items) == limit else None)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise ApiError(400, "invalid_parameter", f"{name} must be between {low} and {high}.")
    return value


def _since_arg() -> datetime | None:
    raw = request.args.get("since", "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "invalid_parameter", "since must be an ISO 8601 time such as "
                       "2026-05-01T18:00:00+00:00.") from None
    if value.tzinfo is None:
        raise ApiError(400, "invalid_parameter", "since must include a UTC offset.")
    if not in_range(value):
        raise ApiError(400, "invalid_parameter", f"since: {range_message()}")
    return value
