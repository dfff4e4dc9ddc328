"""The mutation run (bench/README.md) runs every rule test file, and only files that exist."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_rule_test_file_is_in_the_mutation_selection():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    selected = set(config["pytest_add_cli_args_test_selection"])
    rule_files = {str(p.relative_to(ROOT)) for p in ROOT.glob("tests/*/test_rules_*.py")}
    assert rule_files - selected == set()
    assert {name for name in selected if not (ROOT / name).is_file()} == set()
