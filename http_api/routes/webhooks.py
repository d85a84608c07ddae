"""Webhooks: global ones (admin) and per-session ones (admin or the session's key), their
deliveries and the dead-letter replay."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from http_api.auth import Principal
from http_api.keys import principal, services
from http_api.problems import Problem, bad_request
from http_api.routes.common import (
    check_fields,
    json_response,
    optional_bool,
    optional_str,
    query_int,
    read_json,
    require_admin,
    session_id_of,
)
from http_api.shapes import delivery_json, webhook_json
from http_api.validation import INT64_MAX, bounded_list, query_choice
from storage.webhook_values import DeliveryStatus, Webhook

FIELDS = {"url", "secret", "events", "enabled"}
MAX_PAGE = 500
MAX_EVENT_TYPES = 100
MAX_REPLAY_IDS = 1000


def _events_field(body: dict[str, Any]) -> list[str] | None:
    if "events" not in body:
        return None
    return bounded_list(body["events"], "events", str, limit=MAX_EVENT_TYPES)


async def _webhook_of(request: web.Request) -> Webhook:
    webhook_id = request.match_info["webhook_id"]
    webhook = await services(request).webhooks.repo.get(webhook_id)
    caller = principal(request)
    if (
        webhook is None
        or not (
            caller.is_admin
            or (webhook.session_id is not None and caller.may_access(webhook.session_id))
        )
        or (caller.restricted and webhook.api_key_id != caller.key_id)
    ):
        # A session key does not learn whether another session's webhook exists.
        raise Problem(404, "webhook-not-found", f"no webhook {webhook_id!r}")
    return webhook


async def _create(request: web.Request, session_id: str | None) -> web.Response:
    caller = principal(request)
    body = await read_json(request)
    check_fields(body, FIELDS)
    url = optional_str(body, "url")
    if url is None:
        raise bad_request("'url' is required")
    enabled = optional_bool(body, "enabled")
    webhook = await services(request).webhooks.create(
        session_id=session_id,
        url=url,
        secret=optional_str(body, "secret"),
        events=_events_field(body) or [],
        enabled=True if enabled is None else enabled,
        # A chat-restricted key's webhook gets only its chats' events, as the key does.
        api_key_id=caller.key_id if caller.restricted else None,
    )
    return json_response(
        webhook_json(webhook, with_secret=True),
        status=201,
        headers={"Location": f"/webhooks/{webhook.id}"},
    )


async def create_global_webhook(request: web.Request) -> web.Response:
    require_admin(request)
    return await _create(request, None)


async def create_session_webhook(request: web.Request) -> web.Response:
    return await _create(request, session_id_of(request))


async def list_webhooks(request: web.Request) -> web.Response:
    svc = services(request)
    caller = principal(request)
    if caller.is_admin:
        webhooks = await svc.webhooks.repo.list_all()
    else:
        assert caller.session_id is not None
        webhooks = await svc.webhooks.repo.list_for_session(caller.session_id)
    return json_response({"webhooks": [webhook_json(w) for w in _own(caller, webhooks)]})


async def list_session_webhooks(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    webhooks = await services(request).webhooks.repo.list_for_session(session_id)
    return json_response(
        {"webhooks": [webhook_json(w) for w in _own(principal(request), webhooks)]}
    )


def _own(caller: Principal, webhooks: list[Webhook]) -> list[Webhook]:
    """A chat-restricted key sees only the webhooks made with it."""
    if not caller.restricted:
        return webhooks
    return [w for w in webhooks if w.api_key_id == caller.key_id]


async def get_webhook(request: web.Request) -> web.Response:
    webhook = await _webhook_of(request)
    counts = await services(request).webhooks.repo.delivery_counts(webhook.id)
    return json_response(webhook_json(webhook, counts=counts))


async def update_webhook(request: web.Request) -> web.Response:
    webhook = await _webhook_of(request)
    body = await read_json(request)
    check_fields(body, FIELDS)
    updated = await services(request).webhooks.update(
        webhook.id,
        url=optional_str(body, "url"),
        secret=optional_str(body, "secret"),
        events=_events_field(body),
        enabled=optional_bool(body, "enabled"),
    )
    return json_response(webhook_json(updated))


async def delete_webhook(request: web.Request) -> web.Response:
    webhook = await _webhook_of(request)
    await services(request).webhooks.repo.delete(webhook.id)
    return web.Response(status=204)


async def list_deliveries(request: web.Request) -> web.Response:
    webhook = await _webhook_of(request)
    status = query_choice(request, "status", DeliveryStatus)
    after = query_int(request, "after", 0)
    limit = query_int(request, "limit", 100, minimum=1, maximum=MAX_PAGE)
    deliveries = await services(request).webhooks.repo.deliveries(
        webhook.id, status=status, after_id=after, limit=limit
    )
    return json_response(
        {
            "deliveries": [delivery_json(d) for d in deliveries],
            "nextCursor": deliveries[-1].id if len(deliveries) == limit else None,
        }
    )


async def replay_deliveries(request: web.Request) -> web.Response:
    """Dead letters back to pending: all of them, or the ``ids`` given."""
    webhook = await _webhook_of(request)
    body = await read_json(request, optional=True)
    check_fields(body, {"ids"})
    ids = None
    if "ids" in body:
        ids = bounded_list(body["ids"], "ids", int, limit=MAX_REPLAY_IDS)
        if not all(1 <= i <= INT64_MAX for i in ids):
            raise bad_request(f"'ids' must be delivery ids (1 to {INT64_MAX})")
    replayed = await services(request).webhooks.replay(webhook.id, ids)
    return json_response({"replayed": replayed})


__all__ = [
    "create_global_webhook",
    "create_session_webhook",
    "delete_webhook",
    "get_webhook",
    "list_deliveries",
    "list_session_webhooks",
    "list_webhooks",
    "replay_deliveries",
    "update_webhook",
]
