"""Issue 11: views never open a transaction (services own them), and routes are registered with @bp.get/@bp.post.

The view layer (the modules create_app imports for their routes, each domain's blueprint module, the
forms and the health check) is read as source: no ``atomic``, ``standby_writer`` or ``.commit()``,
no ``.route(...)`` and no ``add_url_rule``. A module that adds routes but is missing from
``VIEW_MODULES`` would serve nothing, so that is checked too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rallies"

TRANSACTION_NAMES = {"atomic", "standby_writer"}


def problems(path: Path) -> list[str]:
    """Each place in a module that opens a transaction or registers a route the implicit way."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and any(a.name in TRANSACTION_NAMES for a in node.names):
            found.append(f"{where}: imports {', '.join(a.name for a in node.names if a.name in TRANSACTION_NAMES)}")
        elif isinstance(node, ast.Name) and node.id in TRANSACTION_NAMES:
            found.append(f"{where}: uses {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in TRANSACTION_NAMES | {"commit"}:
            found.append(f"{where}: uses .{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr in ("route", "add_url_rule"):
            found.append(f"{where}: .{node.attr}(...) instead of @bp.get / @bp.post")
    return found


def view_modules() -> list[str]:
    from rallies import VIEW_MODULES

    listed = {f"rallies/{name.replace('.', '/')}.py" for name in VIEW_MODULES}
    others = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")
              if p.name in ("blueprint.py", "forms.py") or p.name == "health.py"}
    return sorted(listed | others)


def _adds_routes(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in ("get", "post") and isinstance(node.value, ast.Name) \
                and node.value.id in ("bp", "api_v1"):
            return True
    return False


def test_every_module_with_routes_is_imported_by_the_factory():
    views = set(view_modules())
    with_routes = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py") if _adds_routes(p)}
    assert with_routes <= views


def test_the_scan_covers_the_view_modules():
    modules = view_modules()
    for expected in ("rallies/auth/views.py", "rallies/door/api.py", "rallies/door/manage.py", "rallies/health.py",
                     "rallies/rallies/organize.py", "rallies/turnout/views.py"):
        assert expected in modules


@pytest.mark.parametrize("module", view_modules())
def test_views_open_no_transaction_and_register_routes_explicitly(module):
    assert problems(ROOT / module) == [], module


def test_each_blueprint_has_its_own_url_prefix(app):
    """A page's code is found from its URL: one prefix per blueprint, none shared; only the public pages sit at /."""
    prefixes = {name: bp.url_prefix or "" for name, bp in app.blueprints.items()}
    assert [name for name, prefix in prefixes.items() if not prefix] == ["rallies"]
    assert len(set(prefixes.values())) == len(prefixes), prefixes
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            assert rule.rule.startswith(prefixes[rule.endpoint.split(".")[0]]), rule


def _templates_rendered(path: Path) -> set[str]:
    return {node.args[0].value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "render_template"
            and node.args and isinstance(node.args[0], ast.Constant)}


def test_each_blueprint_renders_from_its_own_template_folder(app):
    """templates/<blueprint>/: every page a view module renders lives in its blueprint's folder."""
    from rallies import VIEW_MODULES

    for name in VIEW_MODULES:
        module = f"rallies.{name}"
        blueprints = {endpoint.split(".")[0] for endpoint, view in app.view_functions.items()
                      if getattr(view, "__module__", "") == module}
        rendered = _templates_rendered(ROOT / f"{module.replace('.', '/')}.py")
        assert blueprints or not rendered, module
        strays = {t for t in rendered if t.split("/")[0] not in blueprints}
        assert not strays, f"{module} ({blueprints}) renders {strays}"


def test_the_scan_finds_what_it_forbids(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from ..database import atomic\n"
        "@bp.route('/x', methods=['GET', 'POST'])\n"
        "def x():\n"
        "    with atomic():\n"
        "        pass\n"
        "    db.session.commit()\n"
        "bp.add_url_rule('/y', view_func=x)\n"
    )
    assert len(problems(bad)) == 5
    good = tmp_path / "good.py"
    good.write_text("@bp.get('/x')\n@bp.post('/x')\ndef x():\n    return teams.join_campaign(secret, user)\n")
    assert problems(good) == []
