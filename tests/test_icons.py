"""Issue 12: every page names an icon that exists, /favicon.ico answers, and the scanner's manifest has icons."""

from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image

from tests.factories import campaign_of, door_session, make_door


def _icon_links(html: str) -> list[str]:
    return re.findall(r'<link rel="(?:icon|apple-touch-icon)" href="([^"]+)"', html)


def _image(client, path: str) -> Image.Image:
    resp = client.get(path)
    assert resp.status_code == 200, path
    assert resp.mimetype.startswith("image/"), (path, resp.mimetype)
    if resp.mimetype == "image/svg+xml":
        assert resp.data.startswith(b"<svg")
        return None
    return Image.open(io.BytesIO(resp.data))


@pytest.mark.parametrize("path", ["/", "/near", "/about", "/auth/login", "/no-such-page"])
def test_pages_link_icons_that_exist(client, path):
    html = client.get(path).get_data(as_text=True)
    links = _icon_links(html)
    assert len(links) == 3, links
    for link in links:
        _image(client, link)


def test_favicon_ico_answers_for_clients_that_ask_for_it(client):
    image = _image(client, "/favicon.ico")
    assert image.format == "ICO" and (48, 48) in image.info["sizes"]


def test_scanner_page_and_manifest_carry_icons(make_user, make_rally, app):
    rally = make_rally(campaign_of(make_user()))
    door = make_door(rally)
    _ctx, secret, _link = door_session(door)
    device = app.test_client()
    device.set_cookie("door_session", secret, path=f"/door/{door.id}/")
    page = device.get(f"/door/{door.id}/").get_data(as_text=True)
    assert 'class="door-page"' in page and len(_icon_links(page)) == 3
    manifest = json.loads(device.get(f"/door/{door.id}/manifest.webmanifest").data)
    for icon in manifest["icons"]:
        image = _image(device, icon["src"])
        assert f"{image.width}x{image.height}" == icon["sizes"]
    assert {"192x192", "512x512"} <= {i["sizes"] for i in manifest["icons"]}
    assert any(i.get("purpose") == "maskable" for i in manifest["icons"])
