"""RFC 9457 problem details: the one error format of the API.

Handlers raise :class:`Problem` (or let a domain error through: the error middleware maps it);
every error response is ``application/problem+json`` with ``type``, ``title``, ``status`` and
``detail``, plus extension members where they help (``sessionId``, ``retryAfter``...).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://wamd.dev/problems/"
"""Problem type URIs; each names a kind of failure a client can branch on."""


class Problem(Exception):
    """An error response: ``slug`` names the problem type (``TYPE_BASE`` + slug)."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            document["instance"] = instance
        document.update(self.extensions)
        return document

    def response(self, instance: str | None = None) -> web.Response:
        return web.Response(
            status=self.status,
            text=json.dumps(self.body(instance)),
            content_type=PROBLEM_CONTENT_TYPE,
            headers=self.headers,
        )


def bad_request(detail: str, **extensions: Any) -> Problem:
    return Problem(400, "bad-request", detail, **extensions)


def not_found(detail: str) -> Problem:
    return Problem(404, "not-found", detail)


def conflict(slug: str, detail: str) -> Problem:
    return Problem(409, slug, detail)


__all__ = ["PROBLEM_CONTENT_TYPE", "TYPE_BASE", "Problem", "bad_request", "conflict", "not_found"]
