"""Folium turnout maps: the campaign map (every rally a circle) and a rally's venue + origin heat map.

Data in, map parts out, built on geo.folium_maps (vendored assets from static/vendor/, the
configured tiles, the inline script embedded by the template under the request's CSP nonce).
Every string that reaches a popup is escaped here, on the server (maps.text: html.escape plus
the characters that matter inside JavaScript strings).

Speed: rallies go to the browser as one compact JSON array drawn by a FastMarkerCluster
callback (one object per rally in the page, no folium Marker per rally), so 10,000 rallies
render in milliseconds. Privacy: the origin heat map is built from ZIP centroids, aggregated,
and a ZIP with fewer than MIN_ORIGIN_PEOPLE people behind it is never drawn.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC
from zoneinfo import ZoneInfo

import folium
import sqlalchemy as sa
from folium import plugins
from folium.template import Template
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from ..extensions import db
from ..geo.folium_maps import MapParts, map_parts, new_map, text
from ..geo.gazetteer import find_zip
from ..models import Rally, Rsvp, utcnow
from ..models.rallies import STATUS_CANCELLED
from ..models.rsvps import RSVP_GOING
from .tallies import rate

MIN_ORIGIN_PEOPLE = 5
#: Show-up rate bins (upper bound exclusive) and their colours (viridis, colour-blind safe).
RATE_BINS = ((0.40, "#440154", "under 40%"), (0.55, "#3b528b", "40-55%"), (0.70, "#21918c", "55-70%"),
             (0.85, "#5ec962", "70-85%"), (9.99, "#fde725", "85% and over"))
NO_RATE_COLOUR, UPCOMING_COLOUR = "#888888", "#d95f02"
_ORIGIN_TTL_S = 300
_origin_cache: dict[tuple, tuple[float, list[tuple[float, float, int]]]] = {}

# Row: [lat, lon, radius, colour, upcoming, id, title, place, local start, people, walk-ins, going, show-up %].
# Strings are escaped on the server; the callback only joins them, and builds each popup when it opens.
_CALLBACK = """(function () {
    var url = %s, sentinel = %s;
    function n(v) { return Number(v).toLocaleString("en-US"); }
    function popup(row) {
        var lines = ['<strong>' + row[6] + '</strong>', row[7], row[8]];
        if (row[4]) {
            lines.push('Forecast: ' + n(row[9]) + ' people', 'Going: ' + n(row[11]));
        } else {
            lines.push('Checked in: ' + n(row[9]) + ' (walk-ins ' + n(row[10]) + ')',
                       'Show-up rate: ' + (row[12] === null ? 'n/a' : row[12] + '%%'));
        }
        lines.push('<a href="' + url.replace(sentinel, String(row[5])) + '">Dashboard</a>');
        return '<div class="map-popup">' + lines.join('<br>') + '</div>';
    }
    return function (row) {
        var m = L.circleMarker(new L.LatLng(row[0], row[1]), {radius: row[2], color: row[3], fillColor: row[3],
            fillOpacity: 0.6, weight: 2, dashArray: row[4] ? "4 3" : null});
        m.bindPopup(function () { return popup(row); });
        return m;
    };
})()"""
# Clusters in one neutral colour, so they never read as a show-up rate from the legend.
_CLUSTER_ICON = """function (cluster) {
    return L.divIcon({html: '<div><span>' + cluster.getChildCount() + '</span></div>',
                      className: 'marker-cluster turnout-cluster', iconSize: new L.Point(40, 40)});
}"""


@dataclass
class TurnoutMap:
    """A rendered map (maps.MapParts: header, html, script) with what the page says about it."""

    parts: MapParts
    #: (element id, JSON) blocks the page must include as <script type="application/json">.
    data: list[tuple[str, Markup]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    markers: int = 0
    origin_points: int = 0
    #: The heat layer's JavaScript variable, for a page that fills it later.
    heat_var: str = ""


def rate_colour(value: float | None) -> str:
    """The legend colour for a show-up rate."""
    if value is None:
        return NO_RATE_COLOUR
    for bound, colour, _label in RATE_BINS:
        if value < bound:
            return colour
    return RATE_BINS[-1][1]


def legend() -> list[tuple[str, str]]:
    """(colour, label) pairs for the campaign map's legend."""
    return [(c, f"Show-up {label}") for _b, c, label in RATE_BINS] + [
        (NO_RATE_COLOUR, "Held, no RSVPs to compare"), (UPCOMING_COLOUR, "Upcoming: sized by forecast (dashed)")]


def radius_for(people: int) -> float:
    """Circle radius in pixels: area grows with people, kept readable at both ends."""
    return round(min(40.0, 4 + math.sqrt(max(0, people)) / 4), 1)


#: What the campaign map reads of each rally.
MAP_COLUMNS = (Rally.id, Rally.title, Rally.city, Rally.state, Rally.lat, Rally.lon, Rally.timezone, Rally.starts_at,
               Rally.going_people, Rally.rsvp_going_people.label("rsvp_going_people"), Rally.checked_in_people,
               Rally.checked_in_rsvp_people, Rally.walkin_people)


def rally_row(rally, people: int, rate_value: float | None, upcoming: bool, cache: dict | None = None) -> list:
    """One rally's compact row for the campaign map (strings escaped); `rally` is a Rally or a MAP_COLUMNS row.

    `cache` memoises the escaped place and zone names, which repeat across thousands of rallies.
    """
    cache = {} if cache is None else cache
    place_key = (rally.city, rally.state)
    if place_key not in cache:
        cache[place_key] = text(", ".join(p for p in place_key if p))
    if rally.timezone not in cache:
        cache[rally.timezone] = (_zone(rally.timezone), text(rally.timezone))
    zone, zone_name = cache[rally.timezone]
    t = rally.starts_at.astimezone(zone)
    when = f"{t.year}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d} {zone_name}"
    colour = UPCOMING_COLOUR if upcoming else rate_colour(rate_value)
    percent = None if upcoming or rate_value is None else round(rate_value * 100)
    return [rally.lat, rally.lon, radius_for(people), colour, int(upcoming), rally.id, text(rally.title),
            cache[place_key], when, people, rally.walkin_people, rally.going_people, percent]


def campaign_rows(campaign_id: int, forecasts: dict[int, int]) -> tuple[list, list]:
    """(past rows, upcoming rows) for the campaign's geocoded, not-cancelled rallies."""
    # Plain rows, not ORM objects: 10,000 Rally instances cost more than drawing the map.
    opened = sa.func.coalesce(Rally.doors_open_at, Rally.starts_at) <= utcnow()
    query = db.select(*MAP_COLUMNS, opened.label("opened")).where(
        Rally.campaign_id == campaign_id, Rally.status != STATUS_CANCELLED, Rally.lat.is_not(None),
        Rally.lon.is_not(None),
    )
    past, upcoming, cache = [], [], {}
    for r in db.session.execute(query):
        if not r.opened:
            upcoming.append(rally_row(r, forecasts.get(r.id, r.going_people), None, True, cache))
        else:
            past.append(rally_row(r, r.checked_in_people, rate(r.checked_in_rsvp_people, r.rsvp_going_people), False,
                                  cache))
    return past, upcoming


#: A campaign with one placed rally opens on that rally's city.
SINGLE_RALLY_ZOOM = 11
#: Pixels kept free of markers along the top and right edges: the collapsed layer control's corner.
CONTROL_CLEARANCE = 64


def campaign_map(past: list, upcoming: list, url_template: str, sentinel: str) -> TurnoutMap:
    """The campaign turnout map: past and upcoming rally layers (clustered), origin heat map, layer control.

    url_template is a dashboard URL in which `sentinel` stands for the rally id. The heat layer starts
    empty: the page fills it from the origins endpoint (campaign_origins reads every checked-in RSVP,
    so it is cached and kept off the page's own request).
    """
    callback = _CALLBACK % (_js_string(url_template), _js_string(sentinel))
    points = [(row[0], row[1]) for row in past + upcoming]
    centre = [sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)] if points else [39.8, -98.6]
    # One rally: open on its city. None: the whole country. More: fit them all (below).
    m = new_map(centre, SINGLE_RALLY_ZOOM if len(points) == 1 else 4)
    m.options["maxZoom"] = 18  # marker clusters need one even when no tile layer is configured
    options = {"maxClusterRadius": 40, "chunkedLoading": True, "icon_create_function": _CLUSTER_ICON}
    _JsonCluster("turnout-past-rallies", callback=callback, name=f"Past rallies ({len(past)})", **options).add_to(m)
    _JsonCluster("turnout-upcoming-rallies", callback=callback, name=f"Upcoming rallies ({len(upcoming)})",
                 **options).add_to(m)
    data = [("turnout-past-rallies", _json(past)), ("turnout-upcoming-rallies", _json(upcoming))]
    heat = _heat([], "Where people came from (ZIP, 5+ people)").add_to(m)
    # Collapsed to a button in the top-right corner, and the fitted view keeps markers out of that corner.
    folium.LayerControl(collapsed=True).add_to(m)
    if len(points) > 1:
        m.fit_bounds([[min(p[0] for p in points), min(p[1] for p in points)],
                      [max(p[0] for p in points), max(p[1] for p in points)]],
                     padding_top_left=(24, CONTROL_CLEARANCE), padding_bottom_right=(CONTROL_CLEARANCE, 24))
    return TurnoutMap(map_parts(m), data=data, legend=legend(), markers=len(points), heat_var=heat.get_name())


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
    folium.LayerControl(collapsed=True).add_to(m)
    return TurnoutMap(map_parts(m), markers=1, origin_points=len(origins))


class _JsonCluster(plugins.FastMarkerCluster):
    """FastMarkerCluster that reads its rows from a JSON block in the page.

    folium turns each element's rendered script into a new Jinja template; with 10,000 rows
    inline that costs more than everything else together (and evaluates any braces in the
    data), so the rows stay out of the script and out of Jinja.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                {{ this.callback }}
                var data = JSON.parse(document.getElementById({{ this.data_id|tojson }}).textContent);
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                {%- if this.icon_create_function is not none %}
                cluster.options.iconCreateFunction = {{ this.icon_create_function.strip() }};
                {%- endif %}
                cluster.addLayers(data.map(callback));
                cluster.addTo({{ this._parent.get_name() }});
                return cluster;
            })();
        {% endmacro %}""")

    def __init__(self, data_id: str, **kwargs):
        super().__init__([], **kwargs)
        self.data_id = data_id


def _zone(name: str):
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return UTC


def _js_string(value: str) -> str:
    """A JSON string literal that is also safe inside an inline <script>."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _json(rows: list) -> Markup:
    """Compact JSON that is safe inside a <script type="application/json"> element."""
    return htmlsafe_json_dumps(rows, separators=(",", ":"))


def heat_points(origins: list[tuple[float, float, int]]) -> list[list[float]]:
    """[lat, lon, weight 0..1] for leaflet.heat, weights relative to the busiest ZIP."""
    biggest = max((p for _la, _lo, p in origins), default=1)
    return [[lat, lon, round(people / biggest, 3)] for lat, lon, people in origins]


def _heat(origins: list[tuple[float, float, int]], name: str):
    return plugins.HeatMap(heat_points(origins), name=name, min_opacity=0.35, radius=22, blur=18, max_zoom=12)


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
