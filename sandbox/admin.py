"""The admin HTTP API (JSON under ``/admin``): accounts and phones, pairing, phone messages,
what devices received, fault injection, restart.

Errors are RFC 9457 ``application/problem+json``. Device JIDs in paths are in string form
(``15551234567:1@s.whatsapp.net``); users in bodies are JIDs or bare phone numbers.

    GET    /admin/info                           ws URL, admin URL, media host, root key
    GET    /admin/accounts                       every account with its devices
    POST   /admin/accounts                       {phone?, push_name?, hosted?}: account +
                                                 its phone (+ a hosted Cloud API device)
    GET    /admin/accounts/{phone}
    POST   /admin/accounts/{phone}/scan-qr       {qr}: the phone scans a companion's QR
    POST   /admin/accounts/{phone}/pair-code     {code}: the phone confirms a pairing code
    POST   /admin/accounts/{phone}/messages      {to, text} | {to, text, reply_to}
                                                 | {to, message_id, reaction} | {group, text}
                                                 | {to | group, media: {type, data_base64,
                                                   mimetype, file_name?, caption?, ptt?}}
    GET    /admin/accounts/{phone}/messages      what the phone received (decrypted)
    POST   /admin/accounts/{phone}/read          {chat, ids}: read receipts from the phone
    POST   /admin/accounts/{phone}/auto-reply    {enabled}: answer texts with "echo: <text>"
    GET    /admin/devices/{jid}/received[?tag=]  the last stanzas sent to the device's socket
    GET    /admin/devices/{jid}/queue            stanzas the device has not acked yet
    POST   /admin/devices/{jid}/logout           remove the device (device_removed, then 401)
    POST   /admin/faults/drop                    {device?}: abort one or all connections
    POST   /admin/faults/stream-error            {code, device?}: stream:error and close
    GET    /admin/faults/stanzas                 the active drop/delay rules
    POST   /admin/faults/stanzas                 {direction: to_device|from_device,
                                                  action: drop|delay|disconnect|corrupt,
                                                  delay?, device?, tag?, child?, count?, from?}
    DELETE /admin/faults/stanzas[/{id}]          remove all rules, or one
    POST   /admin/faults/refuse-logins           {reason, device?}: <failure reason=N>
    DELETE /admin/faults/refuse-logins           {device?}: lift the refusals
    POST   /admin/restart                        stop and start on the same port (202)
    GET    /admin/groups
    POST   /admin/mock-phone/scan-qr             raw QR string (Baileys' harness): the phone
                                                 of an account made on the fly scans it (and
                                                 pushes its history inline)

App state, history and media routes are in ``sandbox.admin_sync``; what a phone does to groups
in ``sandbox.admin_groups``; pictures and presence in ``sandbox.admin_people``; calls, status
stanzas, unavailable messages, passkeys and client versions in ``sandbox.admin_recovery``; the
2026 service rules (enforcement, reachout time-lock, message capping) in ``sandbox.admin_rules``;
a business's hosted (Cloud API) device in ``sandbox.admin_hosted``; the login record in
``sandbox.admin_logins``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from daemon.binary import JID, JIDError, Server
from sandbox.autoscan import QrError, account_for_registration, history_inline, parse_qr
from sandbox.directory import Account, Device, DirectoryError, phone_for_push_name
from sandbox.faults import Direction, StanzaAction, StanzaRule
from sandbox.groups import Group
from sandbox.network import Network, Phone, PhoneMessage
from sandbox.nodejson import node_to_json
from sandbox.pairing import PairingFailed

if TYPE_CHECKING:
    from sandbox.app import SandboxServer

log = structlog.get_logger("sandbox.admin")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str = "") -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail


def _problem(status: int, title: str, detail: str = "") -> web.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/problem+json"
    )


def _ok(payload: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(payload), content_type="application/json")


def _guard(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Problem as exc:
            return _problem(exc.status, exc.title, exc.detail)
        except PairingFailed as exc:
            return _problem(409, "pairing failed", exc.reason)
        except DirectoryError as exc:
            return _problem(404, "not found", str(exc))
        except (QrError, JIDError, ValueError) as exc:
            return _problem(400, "bad request", str(exc))
        except Exception as exc:
            log.exception("sandbox.admin_failed", path=request.path)
            return _problem(500, "internal error", repr(exc))

    return guarded


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except json.JSONDecodeError as exc:
        raise Problem(400, "bad request", f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Problem(400, "bad request", "body must be a JSON object")
    return data


def _str(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise Problem(400, "bad request", f"{key!r} must be a string")
    return value


def _user_jid(text: str) -> JID:
    """A user given as a JID string or as a bare phone number."""
    return JID.parse(text) if "@" in text else JID(text.lstrip("+"), Server.PN)


def account_json(network: Network, account: Account) -> dict[str, Any]:
    hosted = network.directory.hosted_device(account.phone_user)
    return {
        "phone": account.phone_user,
        "jid": str(account.pn),
        "lid": str(account.lid),
        "push_name": account.push_name,
        "identity_public": account.identity.public.hex(),
        "devices": [device_json(d) for d in network.directory.devices(account.phone_user)],
        "has_phone": account.phone_user in network.phones,
        "enforcing": network.rules.of(account.phone_user).enforcing,
        "hosted_device": None if hosted is None else str(hosted.jid()),
    }


def device_json(device: Device) -> dict[str, Any]:
    return {
        "jid": str(device.jid()),
        "device_id": device.device_id,
        "platform": device.platform,
        "push_name": device.push_name,
        "key_index": device.key_index,
        "prekeys": len(device.prekeys),
        "logged_out": device.logged_out,
    }


def message_json(message: PhoneMessage) -> dict[str, Any]:
    media = message.media
    return {
        "id": message.id,
        "chat": str(message.chat),
        "sender": str(message.sender),
        "timestamp": message.timestamp,
        "kind": message.kind,
        "text": message.text,
        "quoted_id": message.quoted_id,
        "media": None
        if media is None
        else {
            "type": media.media_type,
            "mimetype": media.mimetype,
            "sha256": media.sha256,
            "length": media.length,
            "file_name": media.file_name,
            "error": media.error,
            "direct_path": media.direct_path,
        },
    }


def rule_json(rule: StanzaRule) -> dict[str, Any]:
    return {
        "id": rule.rule_id,
        "direction": str(rule.direction),
        "action": str(rule.action),
        "device": str(rule.device) if rule.device else None,
        "tag": rule.tag,
        "child": rule.child,
        "delay": rule.delay,
        "remaining": rule.remaining,
        "from": str(rule.source) if rule.source else None,
    }


def group_json(group: Group) -> dict[str, Any]:
    return {
        "jid": str(group.jid),
        "subject": group.subject,
        "creator": group.creator,
        "participants": {user: str(role) for user, role in group.participants.items()},
    }


def admin_routes(server: SandboxServer) -> list[web.RouteDef]:
    restart_tasks: set[asyncio.Task[None]] = set()

    def network() -> Network:
        try:
            return server.network
        except RuntimeError:
            raise Problem(503, "sandbox restarting") from None

    def account_of(request: web.Request) -> Account:
        return network().directory.account(request.match_info["phone"])

    def phone_of(request: web.Request) -> Phone:
        account = account_of(request)
        phone = network().phones.get(account.phone_user)
        if phone is None:
            raise Problem(409, "no phone", f"account {account.phone_user} has no simulated phone")
        return phone

    def device_of(request: web.Request) -> Device:
        device = network().directory.device(JID.parse(request.match_info["jid"]))
        if device is None:
            raise Problem(404, "not found", f"no device {request.match_info['jid']}")
        return device

    def optional_device(data: dict[str, Any]) -> JID | None:
        text = data.get("device")
        if text is None:
            return None
        if not isinstance(text, str):
            raise Problem(400, "bad request", "'device' must be a JID string")
        jid = JID.parse(text)
        return network().directory.to_pn(jid) or jid

    async def info(request: web.Request) -> web.StreamResponse:
        return _ok(
            {
                "ws_url": server.ws_url,
                "admin_url": server.admin_url,
                "media_host": network().media_host,
                "root_public_key": server.root_public_key.hex(),
                "restarts": server.restarts,
            }
        )

    async def list_accounts(request: web.Request) -> web.StreamResponse:
        net = network()
        return _ok([account_json(net, a) for a in net.directory.accounts()])

    async def create_account(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        net = network()
        push_name = _str(data, "push_name", "")
        phone = _str(data, "phone", "") or None
        if phone is None:
            phone = phone_for_push_name(push_name or secrets.token_hex(8))
        if net.directory.find_account(phone) is not None:
            raise Problem(409, "exists", f"account {phone} already exists")
        hosted = data.get("hosted", False)
        if not isinstance(hosted, bool):
            raise Problem(400, "bad request", "'hosted' must be a boolean")
        account = await net.create_account(phone.lstrip("+"), push_name=push_name, hosted=hosted)
        return _ok(account_json(net, account), 201)

    async def get_account(request: web.Request) -> web.StreamResponse:
        return _ok(account_json(network(), account_of(request)))

    async def scan_qr(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        device = await phone_of(request).scan_qr(_str(data, "qr"))
        return _ok(device_json(device))

    async def pair_code(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        device = await phone_of(request).confirm_pair_code(_str(data, "code"))
        return _ok(device_json(device))

    async def send_message(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        phone = phone_of(request)
        text = _str(data, "text", "")
        if "media" in data:
            from sandbox.admin_sync import send_media

            target = _user_jid(_str(data, "group" if "group" in data else "to"))
            message_id = await send_media(phone, target, data)
        elif "group" in data:
            message_id = await phone.send_group_text(_user_jid(_str(data, "group")), text)
        elif "reaction" in data:
            message_id = await phone.send_reaction(
                _user_jid(_str(data, "to")), _str(data, "message_id"), _str(data, "reaction")
            )
        elif "reply_to" in data:
            message_id = await phone.send_reply(
                _user_jid(_str(data, "to")), text, _str(data, "reply_to")
            )
        else:
            message_id = await phone.send_text(_user_jid(_str(data, "to")), text)
        return _ok({"id": message_id})

    async def phone_messages(request: web.Request) -> web.StreamResponse:
        return _ok([message_json(m) for m in phone_of(request).messages_received])

    async def mark_read(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        ids = data.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise Problem(400, "bad request", "'ids' must be a list of message ids")
        await phone_of(request).mark_read(_user_jid(_str(data, "chat")), ids)
        return _ok({"read": len(ids)})

    async def auto_reply(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            raise Problem(400, "bad request", "'enabled' must be a boolean")
        phone_of(request).auto_reply = enabled
        return _ok({"auto_reply": enabled})

    async def device_received(request: web.Request) -> web.StreamResponse:
        device = device_of(request)
        nodes = list(network().delivery_log.get(device.jid(), ()))
        tag = request.query.get("tag")
        return _ok([node_to_json(n) for n in nodes if tag is None or n.tag == tag])

    async def device_queue(request: web.Request) -> web.StreamResponse:
        device = device_of(request)
        return _ok([node_to_json(n) for n in await network().offline.pending(device.jid())])

    async def device_logout(request: web.Request) -> web.StreamResponse:
        device = device_of(request)
        if device.device_id == 0:
            raise Problem(400, "bad request", "the phone (device 0) cannot be logged out")
        closed = await network().faults.log_out(device)
        return _ok({"logged_out": str(device.jid()), "closed": closed})

    async def drop(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        return _ok({"dropped": network().faults.drop_connections(optional_device(data))})

    async def stream_error(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        code = data.get("code")
        if not isinstance(code, int):
            raise Problem(400, "bad request", "'code' must be an integer")
        sent = await network().faults.send_stream_error(code, optional_device(data))
        return _ok({"closed": sent})

    async def add_rule(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        delay = data.get("delay", 0.0)
        count = data.get("count")
        tag = data.get("tag")
        if not isinstance(delay, int | float) or (count is not None and not isinstance(count, int)):
            raise Problem(400, "bad request", "'delay' is a number and 'count' an integer")
        child = data.get("child")
        if not all(v is None or isinstance(v, str) for v in (tag, child)):
            raise Problem(400, "bad request", "'tag' and 'child' must be strings")
        source = data.get("from")
        if source is not None and not isinstance(source, str):
            raise Problem(400, "bad request", "'from' must be a JID or a phone number")
        sender = _user_jid(source) if source is not None else None
        account = network().directory.account_of(sender) if sender is not None else None
        alias = None if account is None else (account.lid if sender == account.pn else account.pn)
        rule = network().faults.add_rule(
            Direction(_str(data, "direction")),
            StanzaAction(_str(data, "action")),
            device=optional_device(data),
            tag=tag,
            delay=float(delay),
            count=count,
            child=child,
            source=sender,
            source_alias=alias,
        )
        return _ok(rule_json(rule), 201)

    async def list_rules(request: web.Request) -> web.StreamResponse:
        return _ok([rule_json(r) for r in network().faults.rules])

    async def clear_rules(request: web.Request) -> web.StreamResponse:
        network().faults.clear_rules()
        return _ok({"cleared": True})

    async def delete_rule(request: web.Request) -> web.StreamResponse:
        if not network().faults.remove_rule(int(request.match_info["rule_id"])):
            raise Problem(404, "not found", "no such rule")
        return _ok({"deleted": True})

    async def refuse_logins(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        reason = data.get("reason", 401)
        if not isinstance(reason, int):
            raise Problem(400, "bad request", "'reason' must be an integer")
        refusal = network().faults.refuse_logins(reason, optional_device(data))
        device = str(refusal.device) if refusal.device else None
        return _ok({"reason": refusal.reason, "device": device}, 201)

    async def allow_logins(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        network().faults.allow_logins(optional_device(data))
        return _ok({"refusals": len(network().faults.refusals)})

    async def restart(request: web.Request) -> web.StreamResponse:
        async def later() -> None:
            await asyncio.sleep(0.05)  # let this response leave first
            await server.restart()

        task = asyncio.create_task(later())
        restart_tasks.add(task)
        task.add_done_callback(restart_tasks.discard)
        return _ok({"restarting": True, "port": server.port}, 202)

    async def list_groups(request: web.Request) -> web.StreamResponse:
        return _ok([group_json(g) for g in network().groups.all()])

    async def mock_phone_scan_qr(request: web.Request) -> web.StreamResponse:
        qr = parse_qr(await request.text())
        net = network()
        registration = net.pairing.registration_for_ref(qr.ref)
        if registration is None:
            raise Problem(404, "not found", "no registration is showing that QR")
        account = await account_for_registration(net, registration)
        phone = net.phones.get(account.phone_user)
        if phone is None:
            raise Problem(409, "no phone", "the sandbox runs without simulated phones")
        history_inline(phone)
        device = await phone.scan_qr(qr.to_string())
        return _ok({"account": account_json(net, account), "device": device_json(device)})

    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/admin/info", info),
        ("GET", "/admin/accounts", list_accounts),
        ("POST", "/admin/accounts", create_account),
        ("GET", "/admin/accounts/{phone}", get_account),
        ("POST", "/admin/accounts/{phone}/scan-qr", scan_qr),
        ("POST", "/admin/accounts/{phone}/pair-code", pair_code),
        ("POST", "/admin/accounts/{phone}/messages", send_message),
        ("GET", "/admin/accounts/{phone}/messages", phone_messages),
        ("POST", "/admin/accounts/{phone}/read", mark_read),
        ("POST", "/admin/accounts/{phone}/auto-reply", auto_reply),
        ("GET", "/admin/devices/{jid}/received", device_received),
        ("GET", "/admin/devices/{jid}/queue", device_queue),
        ("POST", "/admin/devices/{jid}/logout", device_logout),
        ("POST", "/admin/faults/drop", drop),
        ("POST", "/admin/faults/stream-error", stream_error),
        ("GET", "/admin/faults/stanzas", list_rules),
        ("POST", "/admin/faults/stanzas", add_rule),
        ("DELETE", "/admin/faults/stanzas", clear_rules),
        ("DELETE", "/admin/faults/stanzas/{rule_id:\\d+}", delete_rule),
        ("POST", "/admin/faults/refuse-logins", refuse_logins),
        ("DELETE", "/admin/faults/refuse-logins", allow_logins),
        ("POST", "/admin/restart", restart),
        ("GET", "/admin/groups", list_groups),
        ("POST", "/admin/mock-phone/scan-qr", mock_phone_scan_qr),
    ]
    from sandbox.admin_groups import group_routes
    from sandbox.admin_hosted import hosted_routes
    from sandbox.admin_logins import login_routes
    from sandbox.admin_people import people_routes
    from sandbox.admin_recovery import recovery_routes
    from sandbox.admin_rules import rules_routes
    from sandbox.admin_sync import sync_routes

    own = [web.route(method, path, _guard(handler)) for method, path, handler in routes]
    return (
        own
        + sync_routes(server)
        + group_routes(server)
        + people_routes(server)
        + recovery_routes(server)
        + rules_routes(server)
        + hosted_routes(server)
        + login_routes(server)
    )
