"""Issue 14: volunteers' sealed secrets (page token, door link) move with `flask rotate-ticket-kek`."""

from __future__ import annotations

import base64
import os
import re

import pytest

from rallies.extensions import db
from rallies.keys import sealing
from rallies.mail.outbox import run_renderer
from tests.factories import campaign_of, make_rally, make_shift, make_user, volunteer
from tests.stored import outbox


def test_rotating_the_kek_keeps_volunteer_links_working(app, client, runner):
    rally = make_rally(campaign_of(make_user()))
    result = volunteer(make_shift(rally), email="vera@example.org")
    [row] = outbox("volunteer")
    before = run_renderer(row).text
    first = app.config["TICKET_KEK"]
    app.config.update(TICKET_KEK=base64.urlsafe_b64encode(os.urandom(32)).decode("ascii"), TICKET_KEK_OLD=first)
    done = runner.invoke(args=["rotate-ticket-kek", "--batch-size", "1"])
    assert done.exit_code == 0 and "1 volunteer sign-up(s)" in done.output, done.output
    assert "0 volunteer sign-up(s)" in runner.invoke(args=["rotate-ticket-kek"]).output  # idempotent
    app.config.update(TICKET_KEK_OLD="")
    db.session.expire_all()
    after = run_renderer(row).text
    link = re.compile(r"/door/l/[A-Za-z0-9_\-]{43}")
    assert link.search(after).group(0) == link.search(before).group(0)
    assert client.get(f"/volunteer/s/{result.token}").status_code == 200
    app.config.update(TICKET_KEK=first)  # under the old KEK alone nothing opens any more
    db.session.expire_all()
    with pytest.raises(sealing.SealError):
        run_renderer(row)
