"""Public pages: upcoming rallies, a rally's page, "rallies near me" and data credits. Rate-limited."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, render_template, request, send_from_directory, url_for
from flask_babel import gettext
from flask_login import current_user

from ..auth.roles import role_in
from ..extensions import db, limiter
from ..geo import gazetteer, geocode
from ..i18n import use_campaign_locale
from ..models import Rally, utcnow
from ..rsvp.forms import blank_rsvp_form
from .blueprint import bp
from .forms import ListFilterForm, NearForm
from .lifecycle import ListCursor, upcoming_listed, upcoming_page

PER_PAGE = 20
#: Rallies per page of near-me results, nearest first.
NEAR_PER_PAGE = 20


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


@bp.get("/")
@limiter.limit(_public_limit)
def index():
    """Upcoming listed rallies, soonest first, filterable by state and city, in keyset pages (after/before)."""
    form = ListFilterForm(request.args)
    form.validate()
    state = (form.state.data or "").strip()
    city = (form.city.data or "").strip()
    query = upcoming_listed(state=gazetteer.state_code(state) or state.upper() if state else "", city=city)
    # A cursor that is not one of ours (edited, truncated) shows the first page.
    after, before = ListCursor.parse(request.args.get("after")), ListCursor.parse(request.args.get("before"))
    page = upcoming_page(query, after=after, before=None if after else before, limit=PER_PAGE)
    return render_template("rallies/index.html", form=form, page=page, rallies=page.rallies,
                           paged=bool(after or before), states=gazetteer.us_states(),
                           filters={k: v for k, v in (("state", state), ("city", city)) if v})


@bp.get("/r/<slug>")
@limiter.limit(_public_limit)
def show(slug: str):
    """A rally's public page (listed or unlisted; drafts only for their own team)."""
    rally = db.session.scalar(db.select(Rally).where(Rally.slug == slug)) or abort(404)
    use_campaign_locale(rally)
    preview = not rally.is_public
    if preview and not (current_user.is_authenticated and role_in(current_user.id, rally.campaign_id)):
        abort(404)
    parts = None
    if rally.lat is not None and rally.lon is not None:
        from ..geo import folium_maps  # folium loads with the first map, not when a worker starts

        m = folium_maps.new_map((rally.lat, rally.lon), zoom=15)
        folium_maps.add_marker(m, (rally.lat, rally.lon), popup=rally.venue_name or rally.title, tooltip=rally.title)
        parts = folium_maps.map_parts(m)
    base = current_app.config["BASE_URL"].rstrip("/")
    ended = rally.ends_at <= utcnow()
    form = None if (preview or ended or rally.is_cancelled) else blank_rsvp_form(rally, request.args)
    return render_template("rallies/show.html", rally=rally, map=parts, preview=preview, ended=ended, rsvp_form=form,
                           canonical=base + url_for("rallies.show", slug=rally.slug))


@bp.get("/near")
@limiter.limit(_public_limit)
def near():
    """Rallies near a ZIP code, a city ("Austin, TX") or the browser's location, nearest first."""
    form = NearForm(request.args)
    searched = any(request.args.get(k) for k in ("q", "lat", "lon"))
    if not searched:
        return render_template("rallies/near.html", form=form, searched=False)
    if not form.validate():
        if form.lat.errors or form.lon.errors:  # hidden fields: say it where people look
            form.q.errors = [*form.q.errors, "We could not use that location. Type a ZIP code or city instead."]
        return render_template("rallies/near.html", form=form, searched=False), 422
    radius = form.radius.data or 25
    unit = form.unit.data or "mi"
    if form.lat.data is not None and form.lon.data is not None:
        origin, label = (float(form.lat.data), float(form.lon.data)), "your location"
    else:
        place = gazetteer.parse_place(form.q.data or "")
        if place is None:
            form.q.errors = [*form.q.errors, _unknown_place_message(form.q.data or "")]
            return render_template("rallies/near.html", form=form, searched=False), 404
        origin, label = (place.lat, place.lon), place.label
    page = max(1, request.args.get("page", 1, type=int) or 1)
    found = geocode.rallies_near(*origin, geocode.radius_km(radius, unit), limit=NEAR_PER_PAGE,
                             offset=(page - 1) * NEAR_PER_PAGE)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("rallies/near.html", form=form, searched=True, found=found, results=found.items,
                           label=label, radius=radius, unit=unit, page=page, per_page=NEAR_PER_PAGE, args=args,
                           origin=list(origin), points=_points(found.items))


def _unknown_place_message(text: str) -> str:
    text = text.strip()
    if not text:
        return gettext("Enter a ZIP code or a city, or use your location.")
    if gazetteer.zip5(text):
        return gettext("We don't know the ZIP code %(zip)s. Check it, or try your city (e.g. Austin, TX).",
                       zip=gazetteer.zip5(text))
    if text.isdigit():
        return gettext("A US ZIP code has five digits, e.g. 78701.")
    return gettext("We couldn't find “%(text)s”. Try “City, ST” (e.g. Austin, TX) or a ZIP code.", text=text)


def _points(results) -> list[dict]:
    """Data for static/js/points-map.js: where each result is, its title and link (text, set as text)."""
    prefix = url_for("rallies.show", slug="-")[:-1]  # slugs are [a-z0-9-]: no quoting needed, one url_for
    return [{"lat": i.rally.lat, "lon": i.rally.lon, "title": f"{i.rally.title} · {i.rally.venue_name}",
             "url": prefix + i.rally.slug} for i in results]


@bp.get("/favicon.ico")
def favicon():
    """The icon for clients that ask for /favicon.ico without reading the page's icon links."""
    return send_from_directory(Path(current_app.static_folder) / "img", "favicon.ico", max_age=86400)


@bp.get("/about")
def about():
    """What Rallies is, and credits for the place data and map tiles."""
    return render_template("rallies/about.html")
