"""SMS fixtures: a Twilio stand-in on 127.0.0.1 and an app configured to send through it."""

from __future__ import annotations

import pytest

from tests.factories import campaign_of, make_rally, make_user
from tests.sms.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, TwilioStandIn


def twilio_config(base_url: str) -> dict:
    """What an app needs to text through the stand-in (fast pacing, short backoff)."""
    return dict(TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM=FROM_NUMBER,
                TWILIO_API_BASE=base_url, SMS_RATE_PER_SECOND=200, SMS_TIMEOUT=5)


@pytest.fixture
def twilio():
    with TwilioStandIn() as standin:
        yield standin


@pytest.fixture
def sms_app(app, twilio):
    """The app, texting through the stand-in."""
    app.config.update(twilio_config(twilio.base_url))
    return app


@pytest.fixture
def rally(app):
    return make_rally(campaign_of(make_user()), title="Town hall")
