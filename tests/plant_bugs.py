"""Plant known bugs in the rule modules one at a time, run the rule tests, revert (git checkout), report.

Run from anywhere: `python tests/plant_bugs.py [name filter ...]`. The rule tests are
``tests/<domain>/test_rules_*.py``. Each entry is (name, file, old, new, ...);
the text must match the current source exactly once, so entries follow the code when it is refactored.
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
 ("sync overlap dropped", S+"door/sync.py", "(since - OVERLAP if since >= TIME_BASED else since)", "since"),
 ("check-in party guard removed", S+"door/checkin.py", "WHERE id = :id AND status = 'going' AND checked_in_people + :n <= guests + 1 RETURNING", "WHERE id = :id AND status = 'going' RETURNING"),
 ("check-in status guard removed", S+"door/checkin.py", "WHERE id = :id AND status = 'going' AND checked_in_people", "WHERE id = :id AND checked_in_people"),
 ("forced party guard removed", S+"door/checkin.py", "    \"WHERE id = :id AND checked_in_people + :n <= guests + 1 RETURNING checked_in_people\"\n)", "    \"WHERE id = :id RETURNING checked_in_people\"\n)"),
 ("capacity guard removed", S+"rallies/counters.py", "fits = sa.or_(rally_t.c.capacity.is_(None), rally_t.c.going_people + people <= rally_t.c.capacity)", "fits = sa.true()"),
 ("hold-admitted guard removed", S+"rsvp/rsvps.py", "rsvp_t.c.id == rsvp_id, rsvp_t.c.checked_in_people <= most_inside)", "rsvp_t.c.id == rsvp_id)"),
 ("walk-in rally guard removed", S+"rallies/counters.py", "rally_t.c.walkin_people <= rally_t.c.walkin_limit)", "sa.true())",
  "else_=sa.or_(rally_t.c.capacity.is_(None), rally_t.c.going_people + people <= rally_t.c.capacity)", "else_=sa.true()"),
 ("offline conflict only when nothing admitted", S+"door/decision.py", "conflict = n < asked", "conflict = n == 0"),
 ("offline ignores the device's people", S+"door/decision.py", "asked = people or (max(1, remaining) if offline else remaining)", "asked = (1 if offline else people or remaining)"),
 ("offline counts beyond the party", S+"door/decision.py", "n = min(asked, max(0, remaining)) if offline else asked", "n = min(asked, max(0, row.guests + 1)) if offline else asked"),
 ("change_guests skips max_guests", S+"rsvp/rsvps.py", "    if guests < 0 or guests > rally.max_guests:\n        raise RsvpError(f\"You can bring between 0 and {rally.max_guests} guests.\")\n    with atomic():", "    with atomic():"),
 ("new RSVP skips max_guests", S+"rsvp/rsvps.py", "    if data.guests < 0 or data.guests > rally.max_guests:", "    if data.guests < 0:"),
 ("rejoin not clamped", S+"rsvp/rsvps.py", "_rejoin(rsvp, min(rsvp.guests, rsvp.rally.max_guests))", "_rejoin(rsvp, rsvp.guests)"),
 ("forecast counts walk-ins as show-ups", S+"turnout/forecast.py", "Rally.going_people,\n                  Rally.checked_in_rsvp_people)", "Rally.going_people,\n                  Rally.checked_in_people)"),
 ("tally counts walk-ins as show-ups", S+"turnout/tallies.py", "show_up_rate=rate(rally.checked_in_rsvp_people, rally.going_people)", "show_up_rate=rate(rally.checked_in_people, rally.going_people)"),
 ("walk-ins counted as RSVP people", S+"door/checkin.py", "rsvp_people = n - walkins if rsvp_people is None else rsvp_people", "rsvp_people = n if rsvp_people is None else rsvp_people"),
 ("cancel frees places of admitted party", S+"rsvp/rsvps.py", "        if not _hold_admitted(rsvp.id, 0):", "        if not _hold_admitted(rsvp.id, 10**6):"),
 ("cancel of going does not promote", S+"rsvp/rsvps.py", "        if was == RSVP_GOING:\n            promote_waitlist", "        if False:\n            promote_waitlist"),
 ("nonce replay not rolled back", S+"door/scan_record.py", "    if scan_id is None:\n        raise Replay()", "    if scan_id is None:\n        return 0"),
 ("signature not bound to rally", S+"rsvp/tickets.py", "    return MESSAGE_TAG + rally_id.to_bytes(4, \"big\") + ticket_id", "    return MESSAGE_TAG + ticket_id"),
 ("wrong rally admitted", S+"door/ticket_reads.py", "    if row.rally_id != ctx.rally_id:\n        if verify_code", "    if False:\n        if verify_code"),
]
only = sys.argv[1:]
for name, path, *pairs in BUGS:
    if only and not any(o in name for o in only):
        continue
    f = ROOT / path
    text = f.read_text()
    for old, new in zip(pairs[::2], pairs[1::2], strict=True):
        assert text.count(old) == 1, (name, text.count(old))
        text = text.replace(old, new)
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
