"""Fixtures for the API tests: a user with read and write tokens, and a client that sends a token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client


@dataclass
class Caller:
    """A test client whose requests carry `Authorization: Bearer <token>`."""

    client: Client
    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers=self.headers())

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(path, body or {}, content_type="application/json", headers=self.headers())


def make_token(
    username: str, scope: str, expires_in: timedelta | None = None, role: str = "administrator",
) -> tuple[Any, str]:
    from django.contrib.auth import get_user_model

    from rmmbridge.api.tokens import do_create_token
    from rmmbridge.servicedesk.actions import Actor
    from rmmbridge.servicedesk.roles import assign_role

    user, _ = get_user_model().objects.get_or_create(username=username)
    assign_role(user, role)
    return do_create_token(Actor.cli("test"), user, scope=scope, expires_in=expires_in)


@pytest.fixture
def reader(db: Any) -> Caller:
    return Caller(Client(), make_token("scripts", "read")[1])


@pytest.fixture
def writer(db: Any) -> Caller:
    return Caller(Client(), make_token("scripts", "write")[1])
