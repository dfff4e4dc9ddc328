#!/usr/bin/env bash
# Run every bench/bench_*.py on SQLite and PostgreSQL and collect what they wrote
# into bench/results/SUMMARY.md.
#
#   bash bench/run_all.sh                      # all benchmarks, both engines
#   ENGINES=sqlite bash bench/run_all.sh       # one engine
#   ONLY="checkin rsvp" bash bench/run_all.sh  # some benchmarks (names without bench_)
#   BENCH_TIMEOUT=1800                         # seconds per benchmark run (default 2400)
#   QUICK=1 bash bench/run_all.sh              # smoke run: every benchmark with --quick (not of record)
#   PY=/path/to/venv/bin/python                # interpreter (default .venv/bin/python, else python3)
#   bash bench/run_all.sh --collect            # run nothing: summarise the tables already in bench/results/
#
# Each benchmark is run as `python -m bench.bench_NAME --engine ENGINE`. A missing
# benchmark is skipped, a failing one is reported and the rest still run. The
# tables each run writes to bench/results/ are copied into the summary right after
# that run, so a benchmark that writes one file per engine cannot lose the first.
# PostgreSQL runs need a server on 127.0.0.1:5432 trusting user postgres; without
# one they are marked skipped. bench_checkin also measures pretix through
# ../shared/bench/pretix/ (see bench/README.md); without it that row says
# "SKIPPED". Run on an otherwise idle machine.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ENGINES=${ENGINES:-"sqlite postgresql"}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-2400}
RESULTS=bench/results
SUMMARY=$RESULTS/SUMMARY.md
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/rallies-bench-XXXXXX")
STAMP=$LOGDIR/stamp
PY=${PY:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=python3
EXTRA=()
[ -n "${QUICK:-}" ] && EXTRA=(--quick)
mkdir -p "$RESULTS"

pg_up() {
  "$PY" - <<'EOF' 2>/dev/null
import os, sys
import psycopg
url = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
try:
    psycopg.connect(url, connect_timeout=3).close()
except Exception:
    sys.exit(1)
EOF
}

if [ "${1:-}" = --collect ]; then
  {
    echo "# Benchmark summary (collected, not re-run)"
    echo
    echo "Collected by \`bench/run_all.sh --collect\` on $(date -u +"%Y-%m-%d %H:%M UTC") from the tables committed in"
    echo "\`$RESULTS/\`: each was measured when its date column says, often on a busy machine (see the"
    echo "\"others' CPU %\" column). Run \`bash bench/run_all.sh\` on an idle machine for figures from one run."
    echo
    for f in "$RESULTS"/*.md; do
      case $(basename "$f") in SUMMARY.md|harness_selftest.md) continue;; esac
      # Only committed tables: a scratch file someone is still writing is not a result yet.
      git ls-files --error-unmatch "$f" >/dev/null 2>&1 || continue
      echo "## From \`$f\`"
      echo
      sed -e 's/^\(#\{1,4\}\) /\1## /' "$f"
      echo
    done
  } >"$SUMMARY"
  echo "== wrote $SUMMARY (collected)"
  exit 0
fi

BENCHES=()
for f in bench/bench_*.py; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .py)
  if [ -n "${ONLY:-}" ] && ! grep -qw "${name#bench_}" <<<"$ONLY"; then continue; fi
  BENCHES+=("$name")
done

STATUS_ROWS=()
BODY=$LOGDIR/body.md
: >"$BODY"
START=$(date -u +"%Y-%m-%d %H:%M UTC")

echo "== harness self-check"
if "$PY" -m bench.harness --selftest >"$LOGDIR/selftest.log" 2>&1; then
  STATUS_ROWS+=("| harness self-check | - | ok | - |")
else
  STATUS_ROWS+=("| harness self-check | - | FAILED (see log) | - |")
fi

for engine in $ENGINES; do
  pg_ok=1
  if [ "$engine" = postgresql ] && ! pg_up; then pg_ok=0; fi
  for name in "${BENCHES[@]}"; do
    label="$name ($engine)"
    if [ $pg_ok = 0 ]; then
      STATUS_ROWS+=("| $name | $engine | skipped: no PostgreSQL on 127.0.0.1:5432 | - |")
      continue
    fi
    log="$LOGDIR/$name-$engine.log"
    echo "== $label (log: $log)"
    touch "$STAMP"; sleep 1  # results files newer than the stamp belong to this run
    t0=$(date +%s)
    timeout --signal=TERM --kill-after=30 "$BENCH_TIMEOUT" "$PY" -m "bench.$name" --engine "$engine" "${EXTRA[@]}" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - t0 ))
    case $rc in
      0) state=ok ;;
      124) state="TIMEOUT after ${BENCH_TIMEOUT}s" ;;
      *) state="FAILED (exit $rc)" ;;
    esac
    STATUS_ROWS+=("| $name | $engine | $state | ${secs}s |")
    {
      echo "## $label: $state"
      echo
      written=$(find "$RESULTS" -maxdepth 1 -name '*.md' -newer "$STAMP" ! -name SUMMARY.md | sort)
      for f in $written; do
        echo "From \`$f\`:"
        echo
        sed -e 's/^\(#\{1,4\}\) /\1## /' "$f"
        echo
      done
      if [ -z "$written" ]; then echo "(no results table written)"; echo; fi
      if [ $rc != 0 ]; then
        echo "Last lines of the log:"
        echo
        echo '```'
        tail -n 15 "$log"
        echo '```'
        echo
      fi
    } >>"$BODY"
  done
done

{
  echo "# Benchmark summary"
  echo
  echo "Run by \`bench/run_all.sh\` from $START to $(date -u +"%H:%M UTC"), $(nproc) cores, $("$PY" -V 2>&1)."
  echo "Logs: $LOGDIR (not kept in the repository)."
  echo
  echo "| benchmark | engine | outcome | time |"
  echo "|---|---|---|---|"
  printf '%s\n' "${STATUS_ROWS[@]}"
  [ ${#BENCHES[@]} = 0 ] && echo "| (no bench/bench_*.py found) | | | |"
  echo
  [ -n "${QUICK:-}" ] && echo "QUICK smoke run (--quick): short runs and smaller data; not a measurement of record." && echo
  cat "$BODY"
} >"$SUMMARY"
echo "== wrote $SUMMARY"
cat "$SUMMARY"
