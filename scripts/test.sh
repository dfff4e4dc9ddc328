#!/usr/bin/env bash
# Install everything into .venv and run the test suite (the README's test command).
# Set TEST_DATABASE_URL=postgresql://... to run on PostgreSQL. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
.venv/bin/pybabel compile -d rallies/translations >/dev/null  # the committed .po catalogs -> .mo
if [ "${1:-}" = "--lint-only" ]; then
  .venv/bin/ruff check .
  exit 0
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
