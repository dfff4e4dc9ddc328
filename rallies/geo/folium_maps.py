"""folium maps served entirely from static/vendor/ (never a CDN), ready for a strict CSP.

The whole API:

    m = new_map((lat, lon), zoom=13)            # tiles from MAP_TILES_URL / MAP_TILES_ATTRIBUTION
    add_marker(m, (lat, lon), popup="Title", tooltip="Venue")   # text is escaped for you
    add_points(m, [(lat, lon, "popup", "tooltip"), ...])        # many markers, one script block
    parts = map_parts(m)                         # MapParts(header, html, script), all Markup

In a template::

    {% block head %}{{ parts.header }}{% endblock %}
    {{ parts.html }}
    {% block scripts %}<script nonce="{{ csp_nonce() }}">{{ parts.script }}</script>{% endblock %}

``map_parts`` rewrites every element's ``default_js``/``default_css`` (per instance) to the
vendored copies, drops what is not needed (glyphicons, the rotate CSS, Bootstrap's CSS,
which would restyle the whole page) and raises ``UnvendoredAsset`` for a plugin whose
files are not vendored, so a CDN link can never slip into a page. Folium's own
full-page styles and inline header script are left out too.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import folium
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from flask import current_app
from jinja2 import Template
from markupsafe import Markup

#: folium resource name -> file under static/vendor/ (None: not needed, left out).
VENDORED = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_rotate_css": None,
    "awesome_markers": "leaflet.awesome-markers/leaflet.awesome-markers.js",
    "awesome_markers_css": "leaflet.awesome-markers/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
    "leaflet-heat.js": "leaflet.heat/leaflet-heat.js",
}
#: Our own stylesheet for map frames, added to every map's header.
MAP_CSS = "css/maps.css"


class UnvendoredAsset(ValueError):
    """A folium element wants a JS/CSS file that is not in static/vendor/."""


@dataclass(frozen=True)
class MapParts:
    """A rendered map: tags for <head>, the map's <div>, and the script body (wrap it in a nonce'd tag)."""

    header: Markup
    html: Markup
    script: Markup


def text(value: object) -> str:
    """Escape any string for a popup or tooltip: HTML; the backtick, ``$`` and backslash that
    would break out of the JavaScript template literal folium puts it in; and braces, because
    folium compiles rendered popups and scripts as Jinja templates again, so "{{ 7*7 }}" in a
    title would otherwise run on the server (template injection)."""
    escaped = html.escape(str(value), quote=True)
    return (escaped.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")
            .replace("{", "&#123;").replace("}", "&#125;"))


def new_map(center: tuple[float, float], zoom: int = 13, **options) -> folium.Map:
    """A map centred on (lat, lon) with the configured tile layer (none if MAP_TILES_URL is empty)."""
    m = folium.Map(location=list(center), zoom_start=zoom, tiles=None, control_scale=True, **options)
    url = current_app.config.get("MAP_TILES_URL", "")
    if url:
        _Tiles(url, current_app.config.get("MAP_TILES_ATTRIBUTION", "")).add_to(m)
    return m


class _Tiles(MacroElement):
    """The configured tile layer. (folium.TileLayer would first search xyzservices' provider catalogue
    for the URL, which costs milliseconds per page.)"""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.tileLayer({{ this.url|tojson }}, {attribution: {{ this.attribution|tojson }}, maxZoom: 19})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, url: str, attribution: str):
        super().__init__()
        self.url, self.attribution = url, attribution


def add_marker(target, location: tuple[float, float], *, popup: str | None = None, tooltip: str | None = None,
               draggable: bool = False, **options) -> folium.Marker:
    """A marker whose popup and tooltip text is escaped (pass plain text, never HTML)."""
    marker = folium.Marker(
        location=list(location), draggable=draggable,
        popup=folium.Popup(text(popup), max_width=300) if popup else None,
        tooltip=folium.Tooltip(text(tooltip)) if tooltip else None, **options,
    )
    marker.add_to(target)
    return marker


class _Points(MacroElement):
    """Many markers from one JSON array: one template render instead of one per marker (fast for 100s)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var points = {{ this.points|tojson }};
            points.forEach(function (p) {
                var marker = L.marker([p[0], p[1]]).addTo({{ this.target }});
                if (p[2]) { marker.bindPopup(p[2], {maxWidth: 300}); }
                if (p[3]) { marker.bindTooltip(p[3]); }
            });
        })();
        {% endmacro %}
    """)

    def __init__(self, target, points):
        super().__init__()
        self.target, self.points = target.get_name(), points


def add_points(target, points) -> None:
    """Plain markers for many places: points are (lat, lon, popup text or None, tooltip text or None).

    Text is escaped here; the whole set is one JSON array in the script (tojson escapes <, > and &).
    """
    rows = [[float(lat), float(lon), text(popup) if popup else None, text(tooltip) if tooltip else None]
            for lat, lon, popup, tooltip in points]
    _Points(target, rows).add_to(target)


class _DragToInputs(MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.marker }}.on("dragend", function (e) {
            var ll = e.target.getLatLng();
            var lat = document.getElementById({{ this.lat_id|tojson }});
            var lon = document.getElementById({{ this.lon_id|tojson }});
            if (lat && lon) {
                lat.value = ll.lat.toFixed(6);
                lon.value = ll.lng.toFixed(6);
                lat.dispatchEvent(new Event("change", {bubbles: true}));
            }
        });
        {% endmacro %}
    """)

    def __init__(self, marker: folium.Marker, lat_id: str, lon_id: str):
        super().__init__()
        self.marker, self.lat_id, self.lon_id = marker.get_name(), lat_id, lon_id


def drag_to_inputs(m: folium.Map, marker: folium.Marker, lat_id: str, lon_id: str) -> None:
    """When the (draggable) marker is dropped, write its position into the inputs with these ids."""
    _DragToInputs(marker, lat_id, lon_id).add_to(m)


def _walk(element):
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def _vendored(name: str, url: str) -> str | None:
    if name not in VENDORED:
        raise UnvendoredAsset(f"{name} ({url}) is not vendored; add it to static/vendor/ and maps.VENDORED")
    path = VENDORED[name]
    return None if path is None else f"{current_app.static_url_path}/vendor/{path}"


def _localise(m: folium.Map) -> None:
    """Point every element's JS/CSS at static/vendor/, per instance (folium's class lists stay untouched)."""
    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if links:
                local = [(n, _vendored(n, u)) for n, u in links]
                setattr(element, attr, [(n, u) for n, u in local if u])


_STYLE_RE = re.compile(r"<style>.*?</style>", re.S)


def map_parts(m: folium.Map) -> MapParts:
    """Render the map into header tags, body html and script, with vendored assets only."""
    _localise(m)
    figure = m.get_root()
    if not isinstance(figure, Figure):
        figure = Figure()
        m.add_to(figure)
    figure.render()
    tags = [f'<link rel="stylesheet" href="{current_app.static_url_path}/{MAP_CSS}">']
    scripts, styles = [], []
    for child in figure.header._children.values():
        if isinstance(child, JavascriptLink):
            scripts.append(f'<script src="{html.escape(child.url)}"></script>')
        elif isinstance(child, CssLink):
            tags.insert(len(tags) - 1, f'<link rel="stylesheet" href="{html.escape(child.url)}">')
        elif isinstance(child, Element):
            # Keep an element's own styles (e.g. "#map_x {height}") but not folium's full-page ones
            # ("html, body {margin: 0}", "#map {position: absolute}") nor inline scripts (CSP).
            for style in _STYLE_RE.findall(child.render()):
                if "html, body" not in style and "#map {" not in style:
                    styles.append(style)
    header = "\n".join(tags + scripts + styles)
    body = f'<div class="map-frame">{figure.html.render()}</div>'
    # folium's own output; every string we feed it goes through text() first.
    script = figure.script.render()
    return MapParts(Markup(header), Markup(body), Markup(script))  # noqa: S704
