"""folium maps: vendored assets only, escaped popups, configurable tiles, scripts under the CSP nonce."""

from __future__ import annotations

import re
from pathlib import Path

import folium
import pytest
from folium.plugins import Fullscreen, HeatMap, MarkerCluster

from rallies.geo import folium_maps
from tests.factories import campaign_of
from tests.rallies.test_rallies import HOSTILE

STATIC = Path(__file__).resolve().parent.parent.parent / "static"
ASSET_RE = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"']([^\"']+)", re.I)
ANY_URL_RE = re.compile(r"https?://[^\s\"'<>`)]+", re.I)


def external_assets(html: str, own_host: str = "localhost") -> list[str]:
    """Script and stylesheet URLs that point off the site (the canonical link names the site itself)."""
    return [u for u in ASSET_RE.findall(html) if re.match(r"(https?:)?//", u) and u.split("/")[2] != own_host]


def stray_urls(html: str, allowed_hosts: set[str]) -> list[str]:
    """Absolute URLs anywhere outside <a href> links and the allowed hosts (the tile server)."""
    without_links = re.sub(r"<a\b[^>]*>", "", html)
    without_links = re.sub(r"\\u003ca href=\\\"[^\"\\]*\\\"", "", without_links)  # tile attribution (JSON)
    without_links = re.sub(r'data-attribution="[^"]*"', "", without_links)  # the same, for points-map.js
    return [u for u in ANY_URL_RE.findall(without_links) if u.split("/")[2] not in allowed_hosts]


def test_every_vendored_file_exists():
    for path in filter(None, folium_maps.VENDORED.values()):
        assert (STATIC / "vendor" / path).is_file(), path
    assert (STATIC / folium_maps.MAP_CSS).is_file()


def test_map_parts_use_only_local_assets(app):
    with app.test_request_context():
        m = folium_maps.new_map((30.27, -97.74))
        cluster = MarkerCluster().add_to(m)
        folium_maps.add_marker(cluster, (30.27, -97.74), popup="Venue", tooltip="Title")
        folium.Marker((30.3, -97.7), icon=folium.Icon(icon="star")).add_to(m)  # awesome-markers
        HeatMap([[30.27, -97.74, 1.0]]).add_to(m)
        parts = folium_maps.map_parts(m)
    header = str(parts.header)
    assert external_assets(header) == []
    for needed in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "vendor/jquery/jquery.min.js",
                   "vendor/leaflet.markercluster/leaflet.markercluster.js", "vendor/leaflet.heat/leaflet-heat.js",
                   "vendor/leaflet.awesome-markers/leaflet.awesome-markers.js", "vendor/fontawesome/css/all.min.css"):
        assert f'/static/{needed}"' in header, needed
    # Nothing that would restyle or script the whole page outside the nonce.
    assert "bootstrap.min.css" not in header and "glyphicons" not in header and "rotate" not in header
    assert "<script>" not in header and "html, body" not in header and "user-scalable" not in header
    assert "<script" not in str(parts.script)
    # folium's class-level CDN lists are untouched (only these instances were rewritten).
    assert folium.Map.default_js[0][1].startswith("https://")


def test_unvendored_plugin_is_refused(app):
    with app.test_request_context():
        m = folium_maps.new_map((30.27, -97.74))
        Fullscreen().add_to(m)
        with pytest.raises(folium_maps.UnvendoredAsset):
            folium_maps.map_parts(m)


def test_popup_and_tooltip_text_is_escaped(app):
    with app.test_request_context():
        m = folium_maps.new_map((30.27, -97.74))
        folium_maps.add_marker(m, (30.27, -97.74), popup=HOSTILE + "\\", tooltip=HOSTILE)
        script = str(folium_maps.map_parts(m).script)
    assert "<script>" not in script and "</script>" not in script
    assert "${alert" not in script  # would run inside folium's JS template literal
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#36;&#123;alert(1)&#125;&#96;&#92;" in script
    assert folium_maps.text("a`b$c\\d<e>&'\"") == "a&#96;b&#36;c&#92;d&lt;e&gt;&amp;&#x27;&quot;"


def test_many_points_are_escaped_json(app):
    with app.test_request_context():
        m = folium_maps.new_map((30.27, -97.74))
        folium_maps.add_points(m, [(30.27, -97.74, HOSTILE, "</script><b>t</b>"), (30.3, -97.7, None, None)])
        script = str(folium_maps.map_parts(m).script)
    assert "</script>" not in script and "<b>" not in script and "${alert" not in script
    assert "[30.3, -97.7, null, null]" in script and "bindPopup(p[2]" in script


def test_tiles_are_configurable(app):
    with app.test_request_context():
        app.config.update(MAP_TILES_URL="https://tiles.example.net/{z}/{x}/{y}.png",
                          MAP_TILES_ATTRIBUTION="Example tiles")
        script = str(folium_maps.map_parts(folium_maps.new_map((0, 0))).script)
        assert '"https://tiles.example.net/{z}/{x}/{y}.png"' in script and "Example tiles" in script
        app.config["MAP_TILES_URL"] = ""
        assert "tileLayer" not in str(folium_maps.map_parts(folium_maps.new_map((0, 0))).script)


def test_no_page_references_an_external_script_or_style(client, make_user, login, make_rally):
    user = make_user()
    rally = make_rally(campaign_of(user), title=HOSTILE, postal_code="78701", lat=30.2713, lon=-97.7426)
    unplaced = make_rally(campaign_of(user), lat=None, lon=None, geo_precision="none")
    public = ["/", f"/r/{rally.slug}", "/near", "/near?q=78701&radius=50", "/near?q=99999", "/about"]
    login(client, user)
    organizer = ["/organize/", f"/organize/rallies/{rally.id}", f"/organize/rallies/{unplaced.id}",
                 f"/organize/rallies/{rally.id}/edit", f"/organize/rallies/{rally.id}/cancel",
                 f"/organize/campaigns/{rally.campaign_id}/rallies/new"]
    tile_host = client.application.config["MAP_TILES_URL"].split("/")[2]
    own_host = client.application.config["BASE_URL"].split("/")[2]
    maps_seen = 0
    for url in public + organizer:
        resp = client.get(url)
        assert resp.status_code in (200, 404), url
        html = resp.text
        assert external_assets(html) == [], url
        assert stray_urls(html, {tile_host, own_host}) == [], url
        if 'class="folium-map"' in html:
            maps_seen += 1
            # The map's inline script carries this response's CSP nonce, and only that script is inline.
            nonce = re.search(r"'nonce-([^']+)'", resp.headers["Content-Security-Policy"]).group(1)
            inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
            assert inline == [f' nonce="{nonce}"'], url
    assert maps_seen == 3  # rally page and both manage pages (near-me results draw theirs in static JS)


TEMPLATE_PROBE = "Probe {{ 7*7 }}zz {{ cycler.__init__.__globals__.os.getpid() }}yy {% if 1 %}ran{% endif %} {{ 'a' ~ 'b' }}"


def test_template_syntax_in_titles_is_never_evaluated(client, make_user, make_rally):
    """folium compiles popups as Jinja again: braces in user text must not reach it as syntax."""
    rally = make_rally(campaign_of(make_user()), title=TEMPLATE_PROBE, venue_name=TEMPLATE_PROBE)
    resp = client.get(f"/r/{rally.slug}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Probe 49zz" not in page and "abyy" not in page.replace(" ", "")
    assert "&#123;% if 1 %&#125;ran&#123;% endif %&#125;" in page  # in the map script, inert
    assert "&#123;&#123; 7*7 &#125;&#125;" in page  # the popup/tooltip text, inert
