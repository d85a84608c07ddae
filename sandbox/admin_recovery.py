"""Admin routes for the service's 2026 behaviours: calls, status stanzas, unavailable messages.

POST   /admin/accounts/{phone}/calls         {to, video?}: the phone calls ``to`` (every
                                             companion of ``to`` rings); the call as JSON
GET    /admin/calls                          every call and how it ended
POST   /admin/calls/{call_id}/end            the caller hangs up a call still ringing
POST   /admin/devices/{jid}/status           {from?}: a newsletter ``<status>`` stanza
POST   /admin/accounts/{phone}/unavailable   {from, text, type?}: ``from`` writes to
                                             {phone}; companions get ``<unavailable>``
                                             only, the phone holds the message
GET    /admin/client-version                 {current, minimum}: what ``GET /`` announces
                                             and the oldest version let in
POST   /admin/client-version                 {current?, minimum?}: move them (older
                                             logins then get ``failure reason=405``)
POST   /admin/accounts/{phone}/passkey       {required}: linking a device to {phone} needs a
                                             passkey (scans and codes get
                                             ``passkey_prologue_request``, no pair-success)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from daemon.binary import JID
from sandbox.admin import Handler, Problem, _body, _guard, _ok, _str, _user_jid
from sandbox.calls import call_json, status_stanza
from sandbox.client_version import WebVersion
from sandbox.directory import Account
from sandbox.network import Network
from sandbox.unavailable import NoPhone, deliver_unavailable

if TYPE_CHECKING:
    from sandbox.app import SandboxServer

DEFAULT_NEWSLETTER = "120363000000000001@newsletter"


def recovery_routes(server: SandboxServer) -> list[web.RouteDef]:
    def network() -> Network:
        return server.network

    def account(phone: str) -> Account:
        return network().directory.account(_user_jid(phone).user)

    async def place_call(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        caller = account(request.match_info["phone"])
        callee = account(_str(data, "to"))
        video = data.get("video", False)
        if not isinstance(video, bool):
            raise Problem(400, "bad request", "'video' must be a boolean")
        call = await network().calls.place(caller, callee, video=video)
        return _ok(call_json(call), 201)

    async def list_calls(request: web.Request) -> web.StreamResponse:
        return _ok([call_json(c) for c in network().calls.all()])

    async def end_call(request: web.Request) -> web.StreamResponse:
        call = network().calls.get(request.match_info["call_id"])
        if call is None:
            raise Problem(404, "not found", "no such call")
        await network().calls.hang_up(call)
        return _ok(call_json(call))

    async def push_status(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        device = JID.parse(request.match_info["jid"])
        newsletter = JID.parse(_str(data, "from", DEFAULT_NEWSLETTER))
        if not newsletter.is_newsletter:
            raise Problem(400, "bad request", "'from' must be a @newsletter JID")
        stanza = status_stanza(newsletter, network())
        await network().deliver(device, stanza)
        return _ok({"id": stanza.attr_str("id")}, 201)

    async def unavailable(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        recipient = account(request.match_info["phone"])
        sender = account(_str(data, "from"))
        try:
            message_id = await deliver_unavailable(
                network(),
                recipient,
                sender,
                _str(data, "text"),
                kind=_str(data, "type", ""),
            )
        except NoPhone as exc:
            raise Problem(409, "no phone", str(exc)) from None
        return _ok({"id": message_id}, 201)

    async def client_version(request: web.Request) -> web.StreamResponse:
        return _ok(network().versions.json())

    async def set_client_version(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        policy = network().versions
        if "current" in data:
            policy.current = WebVersion.parse(_str(data, "current"))
        if "minimum" in data:
            minimum = data["minimum"]
            policy.minimum = None if minimum is None else WebVersion.parse(_str(data, "minimum"))
        return _ok(policy.json())

    async def passkey(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        required = data.get("required")
        if not isinstance(required, bool):
            raise Problem(400, "bad request", "'required' must be a boolean")
        user = account(request.match_info["phone"]).phone_user
        network().passkeys.set(user, required)
        return _ok({"phone": user, "required": required})

    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/admin/accounts/{phone}/passkey", passkey),
        ("GET", "/admin/client-version", client_version),
        ("POST", "/admin/client-version", set_client_version),
        ("POST", "/admin/accounts/{phone}/calls", place_call),
        ("GET", "/admin/calls", list_calls),
        ("POST", "/admin/calls/{call_id}/end", end_call),
        ("POST", "/admin/devices/{jid}/status", push_status),
        ("POST", "/admin/accounts/{phone}/unavailable", unavailable),
    ]
    return [web.route(method, path, _guard(handler)) for method, path, handler in routes]
