"""Groups of a session, keyed by their JID: the stored list (kept current at login, by the
server's ``w:gp2`` notifications and on demand), create, change, members and admins, leave,
invite links and joining by code; and the check that refuses a send to a read-only group
before anything is queued.

Every change is a request to the server through the session's live connection (409
``not-connected`` without one); the stored group is updated from the answer and announced as a
``group.updated`` event. A key restricted to some chats sees only those groups.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web

from daemon.binary import JID
from daemon.chat_address import InvalidChat, normalize_group, normalize_user
from daemon.client.errors import IqError, IqTimeout
from daemon.client.messaging_errors import GroupChangeFailed, NotGroupMember
from daemon.client.messenger import Messenger
from daemon.client.session import Session
from daemon.event_records import group_json
from http_api.keys import principal, services
from http_api.problems import Problem, bad_request
from http_api.routes.chats import decode_cursor, encode_cursor
from http_api.routes.common import (
    check_fields,
    json_response,
    optional_bool,
    optional_str,
    query_int,
    read_json,
    require_paired,
    session_id_of,
)
from storage.message_values import GroupRecord

T = TypeVar("T")
DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_PARTICIPANTS = 256
MAX_SUBJECT = 100
MAX_DESCRIPTION = 2048
INVITE_LINK_PREFIX = "https://chat.whatsapp.com/"
INVITE_CODE = re.compile(r"[A-Za-z0-9]{1,64}")
SEND_CHECK_TIMEOUT_S = 10.0
"""How long a send to a group we never heard of waits for its metadata."""


def messenger_of(request: web.Request, session_id: str) -> Messenger:
    """The session's messenger, for what goes to the server (a paired session only)."""
    require_paired(request, session_id)
    client = services(request).manager.client(session_id)
    if not isinstance(client, Session):
        raise Problem(409, "not-supported", "this session's client cannot manage groups")
    return client.messenger


def group_jid(raw: str) -> JID:
    """A group JID from ``<id>@g.us`` or the bare id (rules: :mod:`daemon.chat_address`)."""
    try:
        return JID.parse(normalize_group(raw))
    except InvalidChat as exc:
        raise bad_request(f"not a group JID: {exc}") from None


def _path_group(request: web.Request) -> JID:
    jid = group_jid(request.match_info["jid"])
    if not principal(request).may_see_chat(str(jid)):
        raise Problem(403, "chat-not-allowed", "this API key may not see this group")
    return jid


def _users(body: dict[str, Any], name: str, *, required: bool = True) -> list[JID]:
    value = body.get(name)
    if value is None and not required:
        return []
    if (
        not isinstance(value, list)
        or not value
        or len(value) > MAX_PARTICIPANTS
        or not all(isinstance(v, str) for v in value)
    ):
        raise bad_request(f"{name!r} must be a list of 1 to {MAX_PARTICIPANTS} JIDs or numbers")
    users = []
    for raw in value:
        try:
            users.append(JID.parse(normalize_user(raw)))
        except InvalidChat as exc:
            raise bad_request(f"{name!r}: {exc}") from None
    return users


def _iq_problem(exc: IqError, group: JID | None) -> Problem:
    where = f"group {group}" if group is not None else "the group"
    if exc.code in (401, 403):
        return Problem(403, "group-forbidden", f"the server refused: not allowed in {where}")
    if exc.code == 404:
        return Problem(404, "group-not-found", f"the server knows no {where}")
    return Problem(502, "group-request-failed", f"the server refused the request: {exc}")


async def _call(group: JID | None, call: Awaitable[T]) -> T:
    """Awaits a group request, mapping the server's refusals to problems."""
    try:
        result = await call
    except IqError as exc:
        raise _iq_problem(exc, group) from None
    except IqTimeout:
        raise Problem(504, "server-timeout", "the server did not answer in time") from None
    except NotGroupMember as exc:
        raise Problem(409, "read-only-group", str(exc)) from None
    except GroupChangeFailed as exc:
        raise Problem(
            422, "participants-refused", str(exc), failures=exc.failures, group=exc.group
        ) from None
    return result


# ------------------------------------------------------------------------------- reading


async def list_groups(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    caller = principal(request)
    limit = query_int(request, "limit", DEFAULT_PAGE, minimum=1, maximum=MAX_PAGE)
    member: bool | None = None
    raw_member = request.query.get("member")
    if raw_member in ("true", "false"):
        member = raw_member == "true"
    elif raw_member:
        raise bad_request("query parameter 'member' must be true or false")
    after = ""
    cursor = request.query.get("cursor")
    if cursor:
        last = decode_cursor(cursor).get("g")
        if not isinstance(last, str):
            raise bad_request("the cursor is not one this API gave out")
        after = last
    repo = services(request).messages.groups
    found: list[GroupRecord] = []
    # A restricted key skips groups it may not see; pages are filled from further rows.
    while len(found) < limit:
        page = await repo.page(session_id, after=after, limit=limit, member=member)
        if not page:
            break
        after = page[-1].jid
        found += [g for g in page if caller.may_see_chat(g.jid)]
    found = found[:limit]
    next_cursor = encode_cursor({"g": found[-1].jid}) if len(found) == limit else None
    return json_response({"groups": [group_json(g) for g in found], "nextCursor": next_cursor})


async def get_group(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    group = _path_group(request)
    refresh = request.query.get("refresh", "false")
    if refresh not in ("true", "false"):
        raise bad_request("query parameter 'refresh' must be true or false")
    if refresh == "true":
        messenger = messenger_of(request, session_id)
        record: GroupRecord = await _call(group, messenger.group_metadata(group, refresh=True))
        return json_response(group_json(record))
    stored = await services(request).messages.groups.get(session_id, str(group))
    if stored is None:
        raise Problem(404, "group-not-found", f"no group {group} is stored; try ?refresh=true")
    return json_response(group_json(stored))


# ------------------------------------------------------------------------------- changing


async def create_group(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    _require_unrestricted(request)
    body = await read_json(request)
    check_fields(body, {"subject", "participants"})
    subject = _subject(body, required=True)
    participants = _users(body, "participants")
    messenger = messenger_of(request, session_id)
    record: GroupRecord = await _call(None, messenger.create_group(subject or "", participants))
    return json_response(
        group_json(record),
        status=201,
        headers={"Location": f"/sessions/{session_id}/groups/{record.jid}"},
    )


def _subject(body: dict[str, Any], *, required: bool) -> str | None:
    subject = optional_str(body, "subject")
    if subject is None and required:
        raise bad_request("'subject' is required")
    if subject is not None and (not subject.strip() or len(subject) > MAX_SUBJECT):
        raise bad_request(f"'subject' must be 1 to {MAX_SUBJECT} characters")
    return subject


async def update_group(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    group = _path_group(request)
    body = await read_json(request)
    check_fields(body, {"subject", "description", "announce", "locked"})
    if not body:
        raise bad_request("name at least one of subject, description, announce, locked")
    subject = _subject(body, required=False)
    description = optional_str(body, "description")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise bad_request(f"'description' must be at most {MAX_DESCRIPTION} characters")
    announce = optional_bool(body, "announce")
    locked = optional_bool(body, "locked")
    messenger = messenger_of(request, session_id)
    record: GroupRecord = await _call(
        group,
        messenger.update_group(
            group, subject=subject, description=description, announce=announce, locked=locked
        ),
    )
    return json_response(group_json(record))


async def add_participants(request: web.Request) -> web.Response:
    return await _participants(request, "add")


async def remove_participants(request: web.Request) -> web.Response:
    return await _participants(request, "remove")


async def _participants(request: web.Request, action: str) -> web.Response:
    session_id = session_id_of(request)
    group = _path_group(request)
    body = await read_json(request)
    check_fields(body, {"participants"})
    users = _users(body, "participants")
    messenger = messenger_of(request, session_id)
    change = messenger.add_participants if action == "add" else messenger.remove_participants
    record: GroupRecord = await _call(group, change(group, users))
    return json_response(group_json(record))


async def change_admins(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    group = _path_group(request)
    body = await read_json(request)
    check_fields(body, {"promote", "demote"})
    promote = _users(body, "promote", required=False)
    demote = _users(body, "demote", required=False)
    if not promote and not demote:
        raise bad_request("name participants to 'promote' and/or 'demote'")
    messenger = messenger_of(request, session_id)
    record: GroupRecord | None = None
    if promote:
        record = await _call(group, messenger.promote_participants(group, promote))
    if demote:
        record = await _call(group, messenger.demote_participants(group, demote))
    assert record is not None
    return json_response(group_json(record))


async def leave_group(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    group = _path_group(request)
    messenger = messenger_of(request, session_id)
    await _call(group, messenger.leave_group(group))
    stored = await services(request).messages.groups.get(session_id, str(group))
    if stored is None:
        return json_response({"jid": str(group), "left": True})
    return json_response(group_json(stored))


def _invite_json(group: JID, code: str) -> dict[str, Any]:
    return {"jid": str(group), "code": code, "link": INVITE_LINK_PREFIX + code}


async def get_invite(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    group = _path_group(request)
    messenger = messenger_of(request, session_id)
    code: str = await _call(group, messenger.group_invite_code(group))
    return json_response(_invite_json(group, code))


async def revoke_invite(request: web.Request) -> web.Response:
    """Revokes the link: the old code stops working; the answer carries the new one."""
    session_id = session_id_of(request)
    group = _path_group(request)
    messenger = messenger_of(request, session_id)
    code: str = await _call(group, messenger.group_invite_code(group, reset=True))
    return json_response(_invite_json(group, code))


async def join_group(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    _require_unrestricted(request)
    body = await read_json(request)
    check_fields(body, {"code"})
    raw = optional_str(body, "code")
    code = (raw or "").strip().removeprefix(INVITE_LINK_PREFIX)
    if not INVITE_CODE.fullmatch(code):
        raise bad_request("'code' must be an invite code or a chat.whatsapp.com link")
    messenger = messenger_of(request, session_id)
    try:
        joined, pending = await messenger.join_group(code)
    except IqError as exc:
        if exc.code == 410:
            raise Problem(410, "invite-revoked", "this invite link was revoked") from None
        if exc.code in (400, 404, 406):
            raise Problem(404, "invite-invalid", "no group has this invite code") from None
        raise _iq_problem(exc, None) from None
    stored = await services(request).messages.groups.get(session_id, str(joined))
    return json_response(
        {
            "jid": str(joined),
            "pendingApproval": pending,
            "group": None if stored is None else group_json(stored),
        }
    )


async def sync_groups(request: web.Request) -> web.Response:
    """Fetches every group the session is in now (as at login)."""
    session_id = session_id_of(request)
    _require_unrestricted(request)
    messenger = messenger_of(request, session_id)
    synced: int = await _call(None, messenger.sync_groups())
    return json_response({"synced": synced})


def _require_unrestricted(request: web.Request) -> None:
    if principal(request).restricted:
        raise Problem(403, "chat-not-allowed", "this API key is restricted to some chats")


# ------------------------------------------------------------------------------- sending


async def refuse_read_only_group(request: web.Request, session_id: str, chat: str) -> None:
    """409 ``read-only-group`` when ``chat`` is a group we may not send to (not a member,
    or an announce group where we are not admin). A group never seen is looked up first
    when the session is connected."""
    if not chat.endswith("@g.us"):
        return
    svc = services(request)
    stored = await svc.messages.groups.get(session_id, chat)
    if stored is None and svc.manager.is_connected(session_id):
        client = svc.manager.client(session_id)
        if isinstance(client, Session):
            try:
                async with asyncio.timeout(SEND_CHECK_TIMEOUT_S):
                    stored = await client.messenger.group_metadata(JID.parse(chat))
            except NotGroupMember as exc:
                raise Problem(409, "read-only-group", str(exc), group=chat) from None
            except (IqError, IqTimeout, TimeoutError):
                return
    if stored is not None and stored.read_only:
        why = "we are not a member" if not stored.is_member else "only admins may send"
        raise Problem(409, "read-only-group", f"group {chat} is read-only: {why}", group=chat)


__all__ = [
    "add_participants",
    "change_admins",
    "create_group",
    "get_group",
    "get_invite",
    "group_jid",
    "join_group",
    "leave_group",
    "list_groups",
    "refuse_read_only_group",
    "remove_participants",
    "revoke_invite",
    "sync_groups",
    "update_group",
]
