"""Campaigns: ``/sessions/{id}/campaigns`` — drafts, recipients in batches, start / pause /
resume / cancel, and reading a campaign with its counts and its recipients page by page."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from daemon.campaigns.requests import MAX_RECIPIENTS
from daemon.campaigns.service import CampaignService, new_campaign_id
from daemon.campaigns.shapes import recipient_json
from http_api.campaign_media import read_campaign
from http_api.keys import principal, services
from http_api.media_intake import discard_attachment
from http_api.problems import Problem, bad_request
from http_api.routes.common import json_response, query_int, read_json, session_id_of
from storage.campaign_values import RecipientStatus

MAX_PAGE = 100
MAX_RECIPIENT_PAGE = 1000
_CHUNK = 64 * 1024


def _campaigns(request: web.Request) -> CampaignService:
    return services(request).campaigns


def _campaign_id(request: web.Request) -> str:
    return request.match_info["campaign_id"]


def _session_that_sends(request: web.Request) -> str:
    """The session of a call that makes or steers a campaign: only keys that may send.
    (Keys restricted to some chats never reach these routes: see http_api.chat_access.)"""
    session_id = session_id_of(request)
    if not principal(request).can_send:
        raise Problem(403, "send-not-allowed", "this API key may read but not send")
    return session_id


async def _large_json(request: web.Request) -> dict[str, Any]:
    """The JSON object body of a recipients batch, up to ``campaigns.max_body_bytes`` (the
    application-wide body limit is far smaller than 100,000 recipients)."""
    limit = services(request).config.campaigns.max_body_bytes
    if request.content_type != "application/json":
        raise Problem(415, "unsupported-media-type", "send the body as application/json")
    too_large = Problem(
        413, "payload-too-large", f"a recipients batch is at most {limit} bytes; send smaller ones"
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks))
    except json.JSONDecodeError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from None
    except UnicodeDecodeError:
        raise bad_request("the body is not UTF-8") from None
    if not isinstance(data, dict):
        raise bad_request("the body must be a JSON object")
    return data


async def list_campaigns(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    limit = query_int(request, "limit", 20, minimum=1, maximum=MAX_PAGE)
    before = request.query.get("before") or None
    svc = _campaigns(request)
    found = await svc.list_for_session(session_id, before_id=before, limit=limit)
    return json_response(
        {
            "campaigns": [await svc.describe(c) for c in found],
            "nextCursor": found[-1].id if len(found) == limit else None,
        }
    )


async def create_campaign(request: web.Request) -> web.Response:
    """A draft; a media campaign's file comes with it (multipart, or ``content.url``)."""
    session_id = _session_that_sends(request)
    svc = _campaigns(request)
    campaign_id = new_campaign_id()
    given = await read_campaign(request, services(request).config, svc.files, campaign_id)
    try:
        campaign = await svc.create(
            session_id, given.body, media=given.media, campaign_id=campaign_id
        )
    except BaseException:
        if given.media is not None:
            discard_attachment(given.media)
        raise
    headers = {"Location": f"/sessions/{session_id}/campaigns/{campaign.id}"}
    return json_response(await svc.describe(campaign), status=201, headers=headers)


async def get_campaign(request: web.Request) -> web.Response:
    svc = _campaigns(request)
    campaign = await svc.get(session_id_of(request), _campaign_id(request))
    return json_response(await svc.describe(campaign))


async def add_recipients(request: web.Request) -> web.Response:
    session_id = _session_that_sends(request)
    result = await _campaigns(request).add_recipients(
        session_id, _campaign_id(request), await _large_json(request)
    )
    return json_response(
        {
            "added": result.added,
            "duplicates": result.duplicates,
            "invalid": [
                {"index": bad.index, "value": bad.value, "reason": bad.reason}
                for bad in result.invalid
            ],
            "total": result.total,
            "maxRecipients": MAX_RECIPIENTS,
        }
    )


async def list_recipients(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    raw_status = request.query.get("status")
    status = None
    if raw_status:
        try:
            status = RecipientStatus(raw_status)
        except ValueError:
            choices = ", ".join(s.value for s in RecipientStatus)
            raise bad_request(f"'status' must be one of {choices}") from None
    raw_cursor = request.query.get("cursor") or "0"
    if not raw_cursor.isdigit():
        raise bad_request("'cursor' must be a nextCursor from an earlier page")
    limit = query_int(request, "limit", 100, minimum=1, maximum=MAX_RECIPIENT_PAGE)
    page = await _campaigns(request).recipients(
        session_id, _campaign_id(request), status=status, after_id=int(raw_cursor), limit=limit
    )
    return json_response(
        {
            "recipients": [recipient_json(r) for r in page],
            "nextCursor": str(page[-1].id) if len(page) == limit else None,
        }
    )


async def start_campaign(request: web.Request) -> web.Response:
    session_id = _session_that_sends(request)
    credentials = services(request).manager.client(session_id).credentials
    if credentials is None or not credentials.is_paired:
        raise Problem(
            409,
            "not-paired",
            "the session is not paired; pair it before starting a campaign",
            sessionId=session_id,
        )
    svc = _campaigns(request)
    body = await read_json(request, optional=True)
    campaign = await svc.start(session_id, _campaign_id(request), body)
    return json_response(await svc.describe(campaign))


async def pause_campaign(request: web.Request) -> web.Response:
    svc = _campaigns(request)
    campaign = await svc.pause(_session_that_sends(request), _campaign_id(request))
    return json_response(await svc.describe(campaign))


async def resume_campaign(request: web.Request) -> web.Response:
    svc = _campaigns(request)
    campaign = await svc.resume(_session_that_sends(request), _campaign_id(request))
    return json_response(await svc.describe(campaign))


async def cancel_campaign(request: web.Request) -> web.Response:
    svc = _campaigns(request)
    campaign = await svc.cancel(_session_that_sends(request), _campaign_id(request))
    return json_response(await svc.describe(campaign))


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/sessions/{id}/campaigns", list_campaigns),
    ("POST", "/sessions/{id}/campaigns", create_campaign),
    ("GET", "/sessions/{id}/campaigns/{campaign_id}", get_campaign),
    ("POST", "/sessions/{id}/campaigns/{campaign_id}/recipients", add_recipients),
    ("GET", "/sessions/{id}/campaigns/{campaign_id}/recipients", list_recipients),
    ("POST", "/sessions/{id}/campaigns/{campaign_id}/start", start_campaign),
    ("POST", "/sessions/{id}/campaigns/{campaign_id}/pause", pause_campaign),
    ("POST", "/sessions/{id}/campaigns/{campaign_id}/resume", resume_campaign),
    ("POST", "/sessions/{id}/campaigns/{campaign_id}/cancel", cancel_campaign),
]

__all__ = ["ROUTES"]
