"""The routes a chat-restricted key may call all exist (a typo would lock it out silently)."""

from __future__ import annotations

from http_api.chat_access import RESTRICTED_ROUTES
from http_api.routes import ROUTES


def test_every_restricted_route_is_a_real_route() -> None:
    routed = {(method, path) for method, path, _handler in ROUTES}
    assert set(RESTRICTED_ROUTES) <= routed
    # Session-wide operations stay closed to it.
    for closed in (
        ("POST", "/sessions/{id}/logout"),
        ("POST", "/sessions/{id}/pair"),
        ("POST", "/sessions/{id}/contacts/check"),
        ("POST", "/sessions/{id}/groups"),
        ("POST", "/sessions/{id}/outbox/resume"),
    ):
        assert closed in routed and closed not in RESTRICTED_ROUTES
