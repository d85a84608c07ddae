"""Admin routes for what a phone's user does to groups (``/admin/...``), so tests can make the
changes a person would make on their phone:

    POST /admin/accounts/{phone}/groups                    {subject, participants}: the phone
                                                           creates a group; {jid}
    POST /admin/accounts/{phone}/groups/{jid}/participants {action: add|remove|promote|demote,
                                                           participants}: {results: {jid: error}}
    POST /admin/accounts/{phone}/groups/{jid}/settings     {setting: announcement |
                                                           not_announcement | locked | unlocked}

Each goes through the phone's own connection as a ``w:g2`` iq, so every member's devices get the
same ``w:gp2`` notification they would get from WhatsApp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from daemon.binary import JID, Node
from sandbox.admin import Handler, Problem, _body, _guard, _ok, _str, _user_jid
from sandbox.admin_sync import live_network, simulated_phone
from sandbox.network import Network
from sandbox.phone.phone import PhoneError, SimulatedPhone

if TYPE_CHECKING:
    from sandbox.app import SandboxServer

__all__ = ["group_routes"]

ACTIONS = ("add", "remove", "promote", "demote")
SETTINGS = ("announcement", "not_announcement", "locked", "unlocked")


def _users(data: dict[str, Any]) -> list[JID]:
    value = data.get("participants")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Problem(400, "bad request", "'participants' must be a list of JIDs or numbers")
    return [_user_jid(v) for v in value]


def group_routes(server: SandboxServer) -> list[web.RouteDef]:
    def network() -> Network:
        return live_network(server)

    def phone_of(request: web.Request) -> SimulatedPhone:
        return simulated_phone(network(), request)

    def group_of(request: web.Request) -> JID:
        text = request.match_info["jid"]
        jid = JID.parse(text if "@" in text else f"{text}@g.us")
        if not jid.is_group:
            raise Problem(400, "bad request", f"{text} is not a group")
        return jid

    async def create(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        phone = phone_of(request)
        try:
            jid = await phone.create_group(_str(data, "subject"), _users(data))
        except PhoneError as exc:
            raise Problem(409, "refused", str(exc)) from None
        return _ok({"jid": str(jid)}, 201)

    async def participants(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        action = _str(data, "action")
        if action not in ACTIONS:
            raise Problem(400, "bad request", f"'action' is one of {', '.join(ACTIONS)}")
        phone = phone_of(request)
        members = [phone.group_member_node(u) for u in _users(data)]
        try:
            answer = await phone.change_group(group_of(request), Node(action, {}, members))
        except PhoneError as exc:
            raise Problem(409, "refused", str(exc)) from None
        block = answer.child(action)
        results = {
            str(p.attr_jid("jid")): p.attr_str("error")
            for p in (block.children_by_tag("participant") if block is not None else [])
        }
        return _ok({"results": results})

    async def settings(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        setting = _str(data, "setting")
        if setting not in SETTINGS:
            raise Problem(400, "bad request", f"'setting' is one of {', '.join(SETTINGS)}")
        try:
            await phone_of(request).change_group(group_of(request), Node(setting))
        except PhoneError as exc:
            raise Problem(409, "refused", str(exc)) from None
        return _ok({"setting": setting})

    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/admin/accounts/{phone}/groups", create),
        ("POST", "/admin/accounts/{phone}/groups/{jid}/participants", participants),
        ("POST", "/admin/accounts/{phone}/groups/{jid}/settings", settings),
    ]
    return [web.route(method, path, _guard(handler)) for method, path, handler in routes]
