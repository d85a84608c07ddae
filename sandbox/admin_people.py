"""Admin routes for what a phone's user shows of themselves (``/admin/...``):

    POST /admin/accounts/{phone}/picture    {data_base64}: set the profile picture; {id}
    POST /admin/accounts/{phone}/presence   {state: available|unavailable}
                                            | {subscribe: <user>}
                                            | {to: <chat>, chatstate: composing|recording|paused}
    GET  /admin/accounts/{phone}/presence   the presence and chatstate stanzas the phone got

Each stanza goes through the phone's own connection, exactly as its app would send it.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from aiohttp import web

from daemon.binary import Node
from sandbox.admin import Handler, Problem, _body, _guard, _ok, _str, _user_jid
from sandbox.admin_sync import live_network, simulated_phone
from sandbox.network import Network
from sandbox.nodejson import node_to_json
from sandbox.phone.phone import PhoneError, SimulatedPhone

if TYPE_CHECKING:
    from sandbox.app import SandboxServer

__all__ = ["people_routes"]

CHATSTATES = ("composing", "recording", "paused")


def people_routes(server: SandboxServer) -> list[web.RouteDef]:
    def network() -> Network:
        return live_network(server)

    def phone_of(request: web.Request) -> SimulatedPhone:
        return simulated_phone(network(), request)

    async def set_picture(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        phone = phone_of(request)
        try:
            image = base64.b64decode(_str(data, "data_base64"), validate=True)
        except (binascii.Error, ValueError):
            raise Problem(400, "bad request", "'data_base64' is not base64") from None
        picture = await network().pictures.set(phone.account.phone_user, image)
        return _ok({"id": picture.id, "direct_path": picture.direct_path})

    async def send_presence(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        phone = phone_of(request)
        if "subscribe" in data:
            node = Node("presence", {"type": "subscribe", "to": _user_jid(_str(data, "subscribe"))})
        elif "chatstate" in data:
            state = _str(data, "chatstate")
            if state not in CHATSTATES:
                raise Problem(400, "bad request", f"'chatstate' is one of {', '.join(CHATSTATES)}")
            child = Node("composing", {"media": "audio"}) if state == "recording" else Node(state)
            node = Node("chatstate", {"to": _user_jid(_str(data, "to"))}, [child])
        else:
            state = _str(data, "state")
            if state not in ("available", "unavailable"):
                raise Problem(400, "bad request", "'state' is available or unavailable")
            node = Node("presence", {"type": state, "name": phone.account.push_name or "phone"})
        try:
            await phone.send_presence(node)
        except PhoneError as exc:
            raise Problem(409, "refused", str(exc)) from None
        return _ok({"sent": node.tag})

    async def presence_seen(request: web.Request) -> web.StreamResponse:
        return _ok([node_to_json(n) for n in phone_of(request).presence_seen])

    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/admin/accounts/{phone}/picture", set_picture),
        ("POST", "/admin/accounts/{phone}/presence", send_presence),
        ("GET", "/admin/accounts/{phone}/presence", presence_seen),
    ]
    return [web.route(method, path, _guard(handler)) for method, path, handler in routes]
