"""Folium turnout maps: the campaign map (every rally a circle) and a rally's venue + origin heat map.

Data in, map parts out, built on services.maps (vendored assets from static/vendor/, the
configured tiles, the inline script embedded by the template under the request's CSP nonce).
Every string that reaches a popup is escaped here, on the server (maps.text: html.escape plus
the characters that matter inside JavaScript strings).

Speed: rallies go to the browser as one compact JSON array drawn by a FastMarkerCluster
callback (one object per rally in the page, no folium Marker per rally), so 10,000 rallies
render in milliseconds. Privacy: the origin heat map is built from ZIP centroids, aggregated,
and a ZIP with fewer than MIN_ORIGIN_PEOPLE people behind it is never drawn.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import folium
import sqlalchemy as sa
from folium import plugins

from ..extensions import db
from ..models import Rally, Rsvp
from ..models.rallies import STATUS_CANCELLED
from ..models.rsvps import RSVP_GOING
from .gazetteer import find_zip
from .maps import MapParts, map_parts, new_map, text
from .tallies import local_label, rally_phase, rate

MIN_ORIGIN_PEOPLE = 5
#: Show-up rate bins (upper bound exclusive) and their colours (viridis, colour-blind safe).
RATE_BINS = ((0.40, "#440154", "under 40%"), (0.55, "#3b528b", "40-55%"), (0.70, "#21918c", "55-70%"),
             (0.85, "#5ec962", "70-85%"), (9.99, "#fde725", "85% and over"))
NO_RATE_COLOUR, UPCOMING_COLOUR = "#888888", "#d95f02"
_ORIGIN_TTL_S = 300
_origin_cache: dict[tuple, tuple[float, list[tuple[float, float, int]]]] = {}

# Row: [lat, lon, radius, colour, dashed, id, title, place, date, people label, rate label, url].
# Strings in the row are escaped on the server; the callback only joins them.
_CALLBACK = """function (row) {
    var m = L.circleMarker(new L.LatLng(row[0], row[1]), {radius: row[2], color: row[3], fillColor: row[3],
        fillOpacity: 0.6, weight: 2, dashArray: row[4] ? "4 3" : null});
    m.bindPopup('<div class="map-popup"><strong>' + row[6] + '</strong><br>' + row[7] + '<br>' + row[8] +
        '<br>' + row[9] + '<br>' + row[10] + '<br><a href="' + row[11] + '">Dashboard</a></div>');
    return m;
}"""
# Clusters in one neutral colour, so they never read as a show-up rate from the legend.
_CLUSTER_ICON = """function (cluster) {
    return L.divIcon({html: '<div><span>' + cluster.getChildCount() + '</span></div>',
                      className: 'marker-cluster turnout-cluster', iconSize: new L.Point(40, 40)});
}"""


@dataclass
class TurnoutMap:
    """A rendered map (maps.MapParts: header, html, script) with what the page says about it."""

    parts: MapParts
    legend: list[tuple[str, str]] = field(default_factory=list)
    markers: int = 0
    origin_points: int = 0


def rate_colour(value: float | None) -> str:
    """The legend colour for a show-up rate."""
    if value is None:
        return NO_RATE_COLOUR
    return next(colour for bound, colour, _label in RATE_BINS if value < bound)


def legend() -> list[tuple[str, str]]:
    """(colour, label) pairs for the campaign map's legend."""
    return [(c, f"Show-up {label}") for _b, c, label in RATE_BINS] + [
        (NO_RATE_COLOUR, "Held, no RSVPs to compare"), (UPCOMING_COLOUR, "Upcoming: sized by forecast (dashed)")]


def radius_for(people: int) -> float:
    """Circle radius in pixels: area grows with people, kept readable at both ends."""
    return round(min(40.0, 4 + math.sqrt(max(0, people)) / 4), 1)


def rally_row(rally: Rally, people: int, rate_value: float | None, upcoming: bool, url_template: str,
              sentinel: str) -> list:
    """One rally's compact row for the campaign map (strings escaped)."""
    e = text
    place = ", ".join(p for p in (rally.city, rally.state) if p)
    when = local_label(rally.starts_at, rally.timezone, "%Y-%m-%d %H:%M") + " " + rally.timezone
    if upcoming:
        people_label, rate_label = f"Forecast: {people:,} people", f"Going: {rally.going_people:,}"
        colour = UPCOMING_COLOUR
    else:
        people_label = f"Checked in: {people:,} (walk-ins {rally.walkin_people:,})"
        rate_label = "Show-up rate: " + (f"{rate_value:.0%}" if rate_value is not None else "n/a")
        colour = rate_colour(rate_value)
    return [rally.lat, rally.lon, radius_for(people), colour, upcoming, rally.id, e(rally.title), e(place),
            e(when), e(people_label), e(rate_label), e(url_template.replace(sentinel, str(rally.id)))]


def campaign_rows(campaign_id: int, forecasts: dict[int, int], url_template: str,
                  sentinel: str) -> tuple[list, list]:
    """(past rows, upcoming rows) for the campaign's geocoded, not-cancelled rallies.

    url_template is a dashboard URL whose `sentinel` stands for the rally id.
    """
    query = db.select(Rally).where(
        Rally.campaign_id == campaign_id, Rally.status != STATUS_CANCELLED, Rally.lat.is_not(None),
        Rally.lon.is_not(None),
    )
    past, upcoming = [], []
    for r in db.session.scalars(query.order_by(Rally.starts_at)):
        if rally_phase(r) == "upcoming":
            upcoming.append(rally_row(r, forecasts.get(r.id, r.going_people), None, True, url_template, sentinel))
        else:
            past.append(rally_row(r, r.checked_in_people, rate(r.checked_in_rsvp_people, r.going_people), False,
                                  url_template, sentinel))
    return past, upcoming


def campaign_map(past: list, upcoming: list, origins: list[tuple[float, float, int]]) -> TurnoutMap:
    """The campaign turnout map: past and upcoming rally layers (clustered), origin heat map, layer control."""
    points = [(row[0], row[1]) for row in past + upcoming]
    centre = [sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)] if points else [39.8, -98.6]
    m = new_map(centre, 4)
    m.options["maxZoom"] = 18  # marker clusters need one even when no tile layer is configured
    options = {"maxClusterRadius": 40, "chunkedLoading": True, "icon_create_function": _CLUSTER_ICON}
    plugins.FastMarkerCluster(past, callback=_CALLBACK, name=f"Past rallies ({len(past)})", **options).add_to(m)
    plugins.FastMarkerCluster(upcoming, callback=_CALLBACK, name=f"Upcoming rallies ({len(upcoming)})",
                              **options).add_to(m)
    _heat(origins, "Where people came from (ZIP, 5+ people)").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    if len(points) > 1:
        m.fit_bounds([[min(p[0] for p in points), min(p[1] for p in points)],
                      [max(p[0] for p in points), max(p[1] for p in points)]])
    return TurnoutMap(map_parts(m), legend=legend(), markers=len(points), origin_points=len(origins))


def rally_map(rally: Rally, origins: list[tuple[float, float, int]]) -> TurnoutMap | None:
    """The rally dashboard map: the venue and its origin heat map (None when the rally is not geocoded)."""
    if rally.lat is None or rally.lon is None:
        return None
    m = new_map((rally.lat, rally.lon), 10)
    m.options["maxZoom"] = 18
    venue = text(" - ".join(p for p in (rally.venue_name, rally.title) if p))
    folium.CircleMarker([rally.lat, rally.lon], radius=9, color="#102a43", fill=True, fill_opacity=0.9,
                        popup=folium.Popup(f"<strong>{venue}</strong>", parse_html=False),
                        tooltip=text(rally.venue_name or rally.title), name="Venue").add_to(m)
    _heat(origins, "Where people came from (ZIP, 5+ people)").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return TurnoutMap(map_parts(m), markers=1, origin_points=len(origins))


def _heat(origins: list[tuple[float, float, int]], name: str):
    biggest = max((p for _la, _lo, p in origins), default=1)
    data = [[lat, lon, round(people / biggest, 3)] for lat, lon, people in origins]
    return plugins.HeatMap(data, name=name, min_opacity=0.35, radius=22, blur=18, max_zoom=12)


# --- Origins: ZIP centroids, aggregated, thresholded --------------------------------------------------


def origin_points(zip_people: dict[str, int]) -> list[tuple[float, float, int]]:
    """(lat, lon, people) per known ZIP with at least MIN_ORIGIN_PEOPLE people; smaller ZIPs are dropped."""
    out = []
    for code, people in sorted(zip_people.items()):
        if people < MIN_ORIGIN_PEOPLE:
            continue
        place = find_zip(code)
        if place is not None:
            out.append((place.lat, place.lon, people))
    return out


def _zip_counts(query) -> dict[str, int]:
    counts: dict[str, int] = {}
    for code, people in db.session.execute(query):
        key = (code or "").strip()[:5]
        if len(key) == 5 and key.isdigit():
            counts[key] = counts.get(key, 0) + int(people or 0)
    return counts


def rally_origins(rally: Rally) -> list[tuple[float, float, int]]:
    """Origins of the people checked in (or, before anyone is, of the people going)."""
    if rally.checked_in_rsvp_people > 0:
        weight, cond = sa.func.sum(Rsvp.checked_in_people), Rsvp.checked_in_people > 0
    else:
        weight, cond = sa.func.sum(Rsvp.guests + 1), Rsvp.status == RSVP_GOING
    query = db.select(Rsvp.postal_code, weight).where(Rsvp.rally_id == rally.id, cond).group_by(Rsvp.postal_code)
    return origin_points(_zip_counts(query))


def origin_ttl() -> float:
    """Seconds the campaign origins stay cached (TURNOUT_ORIGIN_CACHE_S; off while testing)."""
    from flask import current_app

    return current_app.config.get("TURNOUT_ORIGIN_CACHE_S", 0 if current_app.testing else _ORIGIN_TTL_S)


def campaign_origins(campaign_id: int, fresh: bool = False) -> list[tuple[float, float, int]]:
    """Origins of everyone checked in at the campaign's rallies (cached a few minutes: it reads RSVPs)."""
    key = (str(db.engine.url), campaign_id)
    hit = _origin_cache.get(key)
    if hit and not fresh and time.monotonic() - hit[0] < origin_ttl():
        return hit[1]
    query = (
        db.select(Rsvp.postal_code, sa.func.sum(Rsvp.checked_in_people))
        .join(Rally, Rally.id == Rsvp.rally_id)
        .where(Rally.campaign_id == campaign_id, Rsvp.checked_in_people > 0)
        .group_by(Rsvp.postal_code)
    )
    points = origin_points(_zip_counts(query))
    _origin_cache[key] = (time.monotonic(), points)
    return points
