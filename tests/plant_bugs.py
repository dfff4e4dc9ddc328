"""Plant known bugs in the rule modules one at a time, run the rule tests, revert (git checkout), report.

Run from anywhere: `python tests/plant_bugs.py [name filter ...]`. The rule tests are
``tests/<domain>/test_rules_*.py``. Each entry is (name, file, old, new, ...);
the text must match the current source exactly once, so entries follow the code when it is refactored;
an entry that matches nothing (or more than once) is reported STALE and the script exits 1 at the end.
Never run it while something else reads the work tree (it edits the files in place for a moment).
"""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
S = "rallies/"
BUGS = [
 ("waitlist by id only", S+"rsvp/rsvps.py", ".order_by(Rsvp.status_at, Rsvp.id)", ".order_by(Rsvp.id)"),
 ("waitlist newest first", S+"rsvp/rsvps.py", ".order_by(Rsvp.status_at, Rsvp.id)", ".order_by(Rsvp.status_at.desc(), Rsvp.id)"),
 ("big party blocks", S+"rsvp/rsvps.py", "            continue  # skipped, not split; a smaller party behind it may fit", "            break",
  "        q = q.where(Rsvp.guests + 1 <= room)", "        pass"),
 # The overlap window became change numbers: the same fault is a sync that misses the change just above the cursor.
 ("sync overlap dropped", S+"door/sync.py", "floor = None if since <= 0 else since\n", "floor = None if since <= 0 else since + 1\n"),
 ("check-in party guard removed", S+"door/decision.py",
  "rsvp_t.c.checked_in_people + sa.bindparam(\"n\") <= rsvp_t.c.guests + 1, rsvp_t.c.status == \"going\")",
  "rsvp_t.c.status == \"going\")"),
 ("check-in status guard removed", S+"door/decision.py",
  "rsvp_t.c.guests + 1, rsvp_t.c.status == \"going\")", "rsvp_t.c.guests + 1)",
  "rsvp_t.c.checked_in_people == 0,\n                       rsvp_t.c.status == \"going\")", "rsvp_t.c.checked_in_people == 0)"),
 ("forced party guard removed", S+"door/decision.py",
  "_OURS,\n                        rsvp_t.c.checked_in_people + sa.bindparam(\"n\") <= rsvp_t.c.guests + 1)", "_OURS)"),
 ("capacity guard removed", S+"rallies/counters.py", "fits = sa.or_(rally_t.c.capacity.is_(None), rally_t.c.going_people + people <= rally_t.c.capacity)", "fits = sa.true()"),
 ("hold-admitted guard removed", S+"rsvp/rsvps.py", "rsvp_t.c.id == rsvp_id, rsvp_t.c.checked_in_people <= most_inside)", "rsvp_t.c.id == rsvp_id)"),
 ("walk-in rally guard removed", S+"rallies/counters.py", "rally_t.c.walkin_people <= rally_t.c.walkin_limit)", "sa.true())",
  "else_=sa.or_(rally_t.c.capacity.is_(None), rally_t.c.going_people + people <= rally_t.c.capacity)", "else_=sa.true()"),
 ("offline conflict only when nothing admitted", S+"door/decision.py", "conflict = n < asked", "conflict = n == 0"),
 ("offline ignores the device's people", S+"door/decision.py", "asked = people or (max(1, remaining) if offline else remaining)", "asked = (1 if offline else people or remaining)"),
 ("offline counts beyond the party", S+"door/decision.py", "n = min(asked, max(0, remaining)) if offline else asked", "n = min(asked, max(0, row.guests + 1)) if offline else asked"),
 ("change_guests skips max_guests", S+"rsvp/rsvps.py", "    if guests < 0 or guests > rally.max_guests:\n", "    if guests < 0:\n"),
 ("new RSVP skips max_guests", S+"rsvp/rsvps.py", "    if data.guests < 0 or data.guests > rally.max_guests:", "    if data.guests < 0:"),
 ("rejoin not clamped", S+"rsvp/rsvps.py", "_rejoin(rsvp, min(rsvp.guests, rsvp.rally.max_guests))", "_rejoin(rsvp, rsvp.guests)"),
 ("forecast counts walk-ins as show-ups", S+"turnout/forecast.py", "Rally.rsvp_going_people,\n                  Rally.checked_in_rsvp_people)",
  "Rally.rsvp_going_people,\n                  Rally.checked_in_people)"),
 ("tally counts walk-ins as show-ups", S+"turnout/tallies.py", "show_up_rate=rate(rally.checked_in_rsvp_people, rally.rsvp_going_people)",
  "show_up_rate=rate(rally.checked_in_people, rally.rsvp_going_people)"),
 ("walk-ins counted as RSVP people", S+"rallies/counters.py", "\"rsvp_people\": n - walkins,", "\"rsvp_people\": n,"),
 ("cancel frees places of admitted party", S+"rsvp/rsvps.py", "        if not _hold_admitted(rsvp.id, 0):", "        if not _hold_admitted(rsvp.id, 10**6):"),
 ("cancel of going does not promote", S+"rsvp/rsvps.py", "        if was == RSVP_GOING:\n            promote_waitlist", "        if False:\n            promote_waitlist"),
 ("nonce replay not rolled back", S+"door/scan_record.py", "    if scan_id is None:\n        raise Replay()", "    if scan_id is None:\n        return 0"),
 ("signature not bound to rally", S+"rsvp/tickets.py", "    return MESSAGE_TAG + rally_id.to_bytes(4, \"big\") + ticket_id", "    return MESSAGE_TAG + ticket_id"),
 ("wrong rally admitted", S+"door/ticket_reads.py", "    if row.rally_id != ctx.rally_id:\n        if verify_code", "    if False:\n        if verify_code"),
]


def planted(path: str, pairs) -> tuple[str | None, str]:
    """The file's text with the bug planted, or (None, why the entry is stale)."""
    f = ROOT / path
    if not f.exists():
        return None, f"{path} does not exist"
    text = f.read_text()
    for i, (old, new) in enumerate(zip(pairs[::2], pairs[1::2], strict=True)):
        if (count := text.count(old)) != 1:
            return None, f"search text {i + 1} found {count} times in {path} (must be once): {old[:60]!r}"
        text = text.replace(old, new)
    return text, ""


only = sys.argv[1:]
stale = []
for name, path, *pairs in BUGS:
    if only and not any(o in name for o in only):
        continue
    text, why = planted(path, pairs)
    if text is None:  # the code moved on: report it and go on with the other entries
        stale.append(name)
        print(f"{name}: STALE: {why}", flush=True)
        continue
    f = ROOT / path
    f.write_text(text)
    try:
        rule_tests = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("tests/*/test_rules_*.py"))
        out = subprocess.run([sys.executable, "-m", "pytest", *rule_tests, "-q", "-n", "0",
                              "-p", "no:cacheprovider", "--no-header", "-rf"], cwd=ROOT, capture_output=True, text=True).stdout
    finally:
        subprocess.run(["git", "checkout", "--", path], cwd=ROOT, check=True)
    failed = [line.split(" ")[1].replace("tests/", "") for line in out.splitlines()
              if line.startswith(("FAILED", "XPASS"))]

    print(f"{name}: {len(failed)} failing -> {failed[:4]}" if failed else f"{name}: NOT CAUGHT", flush=True)
if stale:
    print(f"{len(stale)} stale entries (update them to the current code): {', '.join(stale)}", flush=True)
    sys.exit(1)
