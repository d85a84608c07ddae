"""Admin routes for the 2026 service rules of an account (``sandbox.service_rules``).

GET    /admin/accounts/{phone}/rules              enforcement, restrictions, tokens
POST   /admin/accounts/{phone}/rules              {enforcing}: hold the account's traffic
                                                  to the 2026 rules (LID-first DMs, tokens)
POST   /admin/accounts/{phone}/reachout-timelock  {active, enforcement_type?, seconds?}:
                                                  time-lock new chats; the account's
                                                  companions get the ``mex`` notification
POST   /admin/accounts/{phone}/message-capping    {status, total_quota?, used_quota?,
                                                  seconds?}: the new-chat message cap
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.admin import Handler, Problem, _body, _guard, _ok
from sandbox.directory import Account
from sandbox.network import Network
from sandbox.service_rules import (
    CAPPING_FIELD,
    CAPPING_OP,
    TIMELOCK_FIELD,
    TIMELOCK_OP,
    Capping,
    Timelock,
    capping_payload,
    mex_notification,
    timelock_payload,
)
from sandbox.stanzas import new_server_id

if TYPE_CHECKING:
    from sandbox.app import SandboxServer

__all__ = ["rules_routes"]

CAPPING_STATUSES = ("NONE", "FIRST_WARNING", "SECOND_WARNING", "CAPPED")
DEFAULT_RESTRICTION_S = 3600


def _int(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Problem(400, "bad request", f"{key!r} must be a non-negative integer")
    return value


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise Problem(400, "bad request", f"{key!r} must be a boolean")
    return value


def rules_json(network: Network, account: Account) -> dict[str, Any]:
    rules = network.rules
    user = account.phone_user
    lock = rules.timelocks.get(user)
    cap = rules.cappings.get(user)
    return {
        "phone": user,
        "enforcing": rules.of(user).enforcing,
        "hide_phone_number": user in rules.hidden_numbers,
        "new_chats_blocked": rules.blocks_new_chats(user, network.now()),
        "reachout_timelock": None
        if lock is None
        else {
            "active": lock.active,
            "enforcement_type": lock.enforcement_type,
            "ends_at": lock.ends_at,
        },
        "accepted_with": {
            recipient: kind
            for (sender, recipient), kind in rules.accepted_with.items()
            if sender == user
        },
        "message_capping": None
        if cap is None
        else {
            "status": cap.status,
            "total_quota": cap.total_quota,
            "used_quota": cap.used_quota,
            "cycle_end": cap.cycle_end,
        },
    }


async def _notify_companions(
    network: Network, account: Account, op: str, field: str, payload: dict[str, object]
) -> int:
    sent = 0
    for device in network.directory.devices(account.phone_user):
        if device.is_phone:
            continue
        node = mex_notification(op, field, payload, network.now(), new_server_id())
        await network.deliver(device.jid(), node)
        sent += 1
    return sent


def rules_routes(server: SandboxServer) -> list[web.RouteDef]:
    def network() -> Network:
        try:
            return server.network
        except RuntimeError:
            raise Problem(503, "sandbox restarting") from None

    def account_of(request: web.Request) -> Account:
        return network().directory.account(request.match_info["phone"])

    async def get_rules(request: web.Request) -> web.StreamResponse:
        return _ok(rules_json(network(), account_of(request)))

    async def set_rules(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        account = account_of(request)
        rules = network().rules
        if "enforcing" in data:
            await rules.set_enforcing(account.phone_user, _bool(data, "enforcing"))
        if "hide_phone_number" in data:
            if _bool(data, "hide_phone_number"):
                rules.hidden_numbers.add(account.phone_user)
            else:
                rules.hidden_numbers.discard(account.phone_user)
        return _ok(rules_json(network(), account))

    async def timelock(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        account = account_of(request)
        net = network()
        active = _bool(data, "active")
        kind = data.get("enforcement_type", "DEFAULT")
        if not isinstance(kind, str) or not kind:
            raise Problem(400, "bad request", "'enforcement_type' must be a string")
        ends_at = net.now() + _int(data, "seconds", DEFAULT_RESTRICTION_S)
        lock = Timelock(active, kind, ends_at if active else 0)
        net.rules.timelocks[account.phone_user] = lock
        notified = await _notify_companions(
            net, account, TIMELOCK_OP, TIMELOCK_FIELD, timelock_payload(lock)
        )
        return _ok({**rules_json(net, account), "notified": notified})

    async def capping(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        account = account_of(request)
        net = network()
        status = data.get("status")
        if status not in CAPPING_STATUSES:
            raise Problem(400, "bad request", f"'status' is one of {', '.join(CAPPING_STATUSES)}")
        cap = Capping(
            str(status),
            _int(data, "total_quota", 100),
            _int(data, "used_quota", 100 if status == "CAPPED" else 0),
            net.now() + _int(data, "seconds", DEFAULT_RESTRICTION_S),
        )
        net.rules.cappings[account.phone_user] = cap
        notified = await _notify_companions(
            net, account, CAPPING_OP, CAPPING_FIELD, capping_payload(cap, net.now())
        )
        return _ok({**rules_json(net, account), "notified": notified})

    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/admin/accounts/{phone}/rules", get_rules),
        ("POST", "/admin/accounts/{phone}/rules", set_rules),
        ("POST", "/admin/accounts/{phone}/reachout-timelock", timelock),
        ("POST", "/admin/accounts/{phone}/message-capping", capping),
    ]
    return [web.route(method, path, _guard(handler)) for method, path, handler in routes]
