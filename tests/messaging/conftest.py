"""Fixtures for organizer messages: an owner, their rally, a logged-in client."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import campaign_of, make_rally, make_user


@pytest.fixture
def owner(app):
    return make_user(email=f"owner-{uuid.uuid4().hex[:6]}@example.org")


@pytest.fixture
def rally(owner):
    return make_rally(campaign_of(owner))


@pytest.fixture
def organizer_client(client, login, owner):
    login(client, owner)
    return client
