"""axe-core in Chromium, loaded from our own origin (CSP-safe): the one helper every browser test uses."""

from __future__ import annotations

AXE = "/static/vendor/axe-core/axe.min.js"


def axe_violations(page, impacts: tuple[str, ...] | None = None) -> list[str]:
    """axe-core's violations on the current page (all impacts, or only those named), one line each."""
    page.add_script_tag(url=AXE)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if impacts is None or v["impact"] in impacts]
