#!/usr/bin/env bash
# Install, migrate, load the demo data and start the app on SQLite (the README's first command).
# Email goes out only through the outbox worker, so it runs beside the web server (without
# SMTP_HOST it writes each message to instance/outbox/*.eml).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
.venv/bin/pybabel compile -d rallies/translations >/dev/null  # the committed .po catalogs -> .mo
export FLASK_DEBUG="${FLASK_DEBUG:-1}" GEOCODER="${GEOCODER:-offline}" SESSION_COOKIE_SECURE="${SESSION_COOKIE_SECURE:-0}"
# Links the demo prints (the door link, the login page) point where the server below listens.
export BASE_URL="${BASE_URL:-http://${HOST:-127.0.0.1}:${PORT:-5000}}"
.venv/bin/flask --app wsgi db upgrade
.venv/bin/flask --app wsgi demo
.venv/bin/flask --app wsgi outbox-worker --interval 2 &
worker=$!
trap 'kill "$worker" 2>/dev/null' EXIT
.venv/bin/flask --app wsgi run --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
