"""The route table as the router sees it: each path reaches its own route whatever the order
routes are added in, and the send route is the one tried first."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from http_api.routes import HOT_ROUTES, ROUTES, setup_routes

_PLACEHOLDER = re.compile(r"\{\w+\}")


def routed_app() -> web.Application:
    app = web.Application()
    setup_routes(app)
    return app


@pytest.mark.parametrize(("method", "path"), [(method, path) for method, path, _ in ROUTES])
async def test_each_path_reaches_its_own_route(method: str, path: str) -> None:
    app = routed_app()
    url = _PLACEHOLDER.sub("v1", path)
    found = await app.router.resolve(make_mocked_request(method, url, app=app))
    assert found.http_exception is None, (method, url)
    assert (found.route.method, found.route.resource.canonical) == (method, path)  # type: ignore[union-attr]


def test_the_send_route_is_tried_first() -> None:
    first = next(iter(routed_app().router.routes()))
    assert (first.method, first.resource.canonical) in HOT_ROUTES  # type: ignore[union-attr]
    assert ("POST", "/sessions/{id}/messages") in HOT_ROUTES
