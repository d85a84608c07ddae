"""Admin routes for a business account's hosted (Cloud API) device (``sandbox.phone.hosted``):

    GET  /admin/accounts/{phone}/hosted            {enabled, device, messages, group_parts}
    POST /admin/accounts/{phone}/hosted            {enabled}: make the account a business with
                                                   a hosted device (device 99), or take it away
    GET  /admin/accounts/{phone}/hosted/messages   what the hosted device received (decrypted)
    POST /admin/accounts/{phone}/hosted/messages   {to, text}: the business answers through
                                                   its hosted device

``group_parts`` counts group sends that addressed the hosted device (the service never
delivers them: hosted devices take no part in groups). An account can also be made with its
hosted device at once: ``POST /admin/accounts {hosted: true}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.admin import (
    Handler,
    Problem,
    _body,
    _guard,
    _ok,
    _str,
    _user_jid,
    device_json,
    message_json,
)
from sandbox.admin_sync import live_network
from sandbox.directory import Account
from sandbox.network import HostedEndpoint, Network
from sandbox.phone.hosted import HostedDeviceError

if TYPE_CHECKING:
    from sandbox.app import SandboxServer

__all__ = ["hosted_json", "hosted_routes"]


def hosted_json(network: Network, account: Account) -> dict[str, Any]:
    device = network.directory.hosted_device(account.phone_user)
    running = network.hosted_devices.get(account.phone_user)
    return {
        "phone": account.phone_user,
        "enabled": device is not None,
        "device": None
        if device is None
        else {
            **device_json(device),
            "lid_jid": str(account.lid_device(device.device_id)),
            "identity_public": device.identity_public.hex(),
        },
        "messages": len(running.messages_received) if running is not None else 0,
        "group_parts": network.hosted_group_parts.get(account.phone_user, 0),
    }


def hosted_routes(server: SandboxServer) -> list[web.RouteDef]:
    def network() -> Network:
        return live_network(server)

    def account_of(request: web.Request) -> Account:
        return network().directory.account(request.match_info["phone"])

    def running(request: web.Request) -> HostedEndpoint:
        account = account_of(request)
        hosted = network().hosted_devices.get(account.phone_user)
        if hosted is None:
            raise Problem(
                409, "no hosted device", f"account {account.phone_user} has no hosted device"
            )
        return hosted

    async def get_hosted(request: web.Request) -> web.StreamResponse:
        return _ok(hosted_json(network(), account_of(request)))

    async def set_hosted(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        enabled = data.get("enabled")
        if not isinstance(enabled, bool):
            raise Problem(400, "bad request", "'enabled' must be a boolean")
        account = account_of(request)
        await network().set_hosted(account, enabled)
        return _ok(hosted_json(network(), account))

    async def hosted_messages(request: web.Request) -> web.StreamResponse:
        return _ok([message_json(m) for m in running(request).messages_received])

    async def send_from_hosted(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        hosted = running(request)
        try:
            message_id = await hosted.send_text(_user_jid(_str(data, "to")), _str(data, "text"))
        except HostedDeviceError as exc:
            raise Problem(409, "not sent", str(exc)) from None
        return _ok({"id": message_id})

    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/admin/accounts/{phone}/hosted", get_hosted),
        ("POST", "/admin/accounts/{phone}/hosted", set_hosted),
        ("GET", "/admin/accounts/{phone}/hosted/messages", hosted_messages),
        ("POST", "/admin/accounts/{phone}/hosted/messages", send_from_hosted),
    ]
    return [web.route(method, path, _guard(handler)) for method, path, handler in routes]
