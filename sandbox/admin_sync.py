"""Admin routes for what a phone holds and syncs: app state, history, media (``/admin/...``).

    POST   /admin/accounts/{phone}/app-state          {action, chat?, ..., tamper?}: a change
                                                      made on the phone (sandbox.phone.app_state)
    GET    /admin/accounts/{phone}/app-state          the server's collections and the phone's
                                                      decoded records
    DELETE /admin/accounts/{phone}/app-state/tamper   serve every stored patch genuine again
    POST   /admin/app-state/snapshots                 {enabled}: answer snapshot requests with
                                                      snapshots (off by default, see
                                                      sandbox.app_state)
    POST   /admin/accounts/{phone}/history            seed the phone's history: explicit
                                                      conversations or a generator spec
                                                      (sandbox.phone.history_seed)
    GET    /admin/accounts/{phone}/history            what the phone would sync now
    POST   /admin/accounts/{phone}/history/push       {device?}: push the history sync again
    GET    /admin/accounts/{phone}/media/{id}         the decrypted file of a media message
    POST   /admin/media/expire                        {direct_path?, status?}: downloads of
                                                      that blob (or of every stored one) answer
                                                      410 (or 404) until re-uploaded
    POST   /admin/media/expire-next                   {mms_type?, count?, status?}: the next
                                                      uploads of that type (history blobs by
                                                      default) are stored already expired

Sending media is ``POST /admin/accounts/{phone}/messages`` with ``{to, media: {...}}``
(``sandbox.admin``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from google.protobuf import json_format

from daemon.binary import JID
from sandbox.admin import Handler, Problem, _body, _guard, _ok
from sandbox.app_state import Tamper
from sandbox.media import EXPIRY_STATUSES, blob_id_from_path
from sandbox.network import Network
from sandbox.phone.app_state import (
    AppStateChange,
    PhoneAppStateError,
    change_mutation,
    parse_change,
)
from sandbox.phone.media import OutgoingMedia, parse_outgoing_media
from sandbox.phone.phone import PhoneError, SimulatedPhone

if TYPE_CHECKING:
    from sandbox.app import SandboxServer

__all__ = ["live_network", "send_media", "simulated_phone", "sync_routes"]


def live_network(server: SandboxServer) -> Network:
    """The running network (503 while the sandbox restarts)."""
    try:
        return server.network
    except RuntimeError:
        raise Problem(503, "sandbox restarting") from None


def simulated_phone(network: Network, request: web.Request) -> SimulatedPhone:
    """The simulated phone of the ``{phone}`` in the path (409 when it has none)."""
    return _simulated(network, request)


def _simulated(network: Network, request: web.Request) -> SimulatedPhone:
    account = network.directory.account(request.match_info["phone"])
    phone = network.phones.get(account.phone_user)
    if not isinstance(phone, SimulatedPhone):
        raise Problem(409, "no phone", f"account {account.phone_user} has no simulated phone")
    return phone


async def send_media(phone: object, to: JID, data: dict[str, Any]) -> str:
    """``POST .../messages`` with ``media``: the phone uploads and sends the file."""
    if not isinstance(phone, SimulatedPhone):
        raise Problem(409, "no phone", "this phone cannot send media")
    media = data.get("media")
    if not isinstance(media, dict):
        raise Problem(400, "bad request", "'media' must be an object")
    outgoing: OutgoingMedia = parse_outgoing_media(media)
    try:
        return await phone.send_media(to, outgoing)
    except PhoneError as exc:
        raise Problem(409, "not sent", str(exc)) from None


def sync_routes(server: SandboxServer) -> list[web.RouteDef]:
    def network() -> Network:
        return live_network(server)

    def phone_of(request: web.Request) -> SimulatedPhone:
        return _simulated(network(), request)

    # App state

    async def change_app_state(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        phone = phone_of(request)
        change: AppStateChange = parse_change(data)
        tamper_text = data.get("tamper")
        tamper = None
        if tamper_text is not None:
            if not isinstance(tamper_text, str) or tamper_text not in set(Tamper):
                raise Problem(400, "bad request", f"'tamper' is one of {', '.join(Tamper)}")
            tamper = Tamper(tamper_text)
        collection, _ = change_mutation(change)
        app_state = network().app_state
        user = phone.account.phone_user
        if tamper is not None:
            app_state.arm_tamper(user, str(collection), tamper)
        try:
            applied = await phone.change_app_state(change)
        except PhoneAppStateError as exc:
            raise Problem(409, "app state refused", str(exc)) from None
        finally:
            app_state.disarm_tamper(user, str(collection))
        return _ok(
            {
                "collection": applied.collection,
                "version": applied.version,
                "index": list(applied.index),
                "tamper": str(tamper) if tamper else None,
            },
            201,
        )

    async def app_state(request: web.Request) -> web.StreamResponse:
        phone = phone_of(request)
        summaries = await network().app_state.summary(phone.account.phone_user)
        views = {v.name: v for v in await phone.app_state.view()}
        collections = []
        for summary in summaries:
            view = views.get(summary.name)
            collections.append(
                {
                    "name": summary.name,
                    "version": summary.version,
                    "patches": summary.patches,
                    "records": summary.records,
                    "tampered": [{"version": v, "tamper": t} for v, t in summary.tampered],
                    "phone_version": view.version if view else 0,
                    "phone_records": [
                        {"index": list(index), "value": json_format.MessageToDict(value)}
                        for index, value in (view.records if view else ())
                    ],
                }
            )
        enabled = await network().app_state.snapshots_enabled()
        return _ok({"snapshots": enabled, "collections": collections})

    async def clear_tamper(request: web.Request) -> web.StreamResponse:
        phone = phone_of(request)
        cleared = await network().app_state.clear_tamper(phone.account.phone_user)
        return _ok({"cleared": cleared})

    async def snapshots(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        enabled = data.get("enabled")
        if not isinstance(enabled, bool):
            raise Problem(400, "bad request", "'enabled' must be a boolean")
        await network().app_state.set_snapshots(enabled)
        return _ok({"snapshots": enabled})

    # History

    async def seed_history(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        try:
            seed = await phone_of(request).seed_history(data)
        except PhoneAppStateError as exc:
            raise Problem(409, "app state refused", str(exc)) from None
        return _ok(
            {
                "chats": len(seed.chats),
                "messages": seed.message_count,
                "media": seed.media_count,
                "contacts": len(seed.contacts),
            },
            201,
        )

    async def history(request: web.Request) -> web.StreamResponse:
        book = phone_of(request).history_book()
        chats = book.chats()
        return _ok(
            {
                "chats": len(chats),
                "messages": book.message_count,
                "chat_list": [
                    {"jid": str(c.jid), "name": c.name, "messages": len(c.messages)} for c in chats
                ],
            }
        )

    async def push_history(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        device = data.get("device")
        if device is not None and not isinstance(device, str):
            raise Problem(400, "bad request", "'device' must be a JID string")
        try:
            pushed = await phone_of(request).push_history(
                JID.parse(device) if device is not None else None
            )
        except PhoneError as exc:
            raise Problem(404, "not found", str(exc)) from None
        return _ok({"pushed": [str(d) for d in pushed]})

    # Media

    async def media_bytes(request: web.Request) -> web.StreamResponse:
        try:
            body = await phone_of(request).media_bytes(request.match_info["message_id"])
        except PhoneError as exc:
            raise Problem(404, "not found", str(exc)) from None
        return web.Response(body=body, content_type="application/octet-stream")

    async def expire_media(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        path = data.get("direct_path")
        status = data.get("status", 410)
        if status not in EXPIRY_STATUSES or isinstance(status, bool):
            raise Problem(400, "bad request", "'status' is 404 or 410")
        blob_id = None
        if path is not None and (
            not isinstance(path, str) or (blob_id := blob_id_from_path(path)) is None
        ):
            raise Problem(400, "bad request", "'direct_path' is not a media-host path")
        expired = await network().media.expire(blob_id, status)
        if blob_id is not None and expired == 0:
            raise Problem(404, "not found", f"no blob at {path}")
        return _ok({"expired": expired, "status": status})

    async def expire_next(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        mms_type = data.get("mms_type", "md-msg-hist")
        count = data.get("count", 1)
        status = data.get("status", 410)
        if not isinstance(mms_type, str) or not isinstance(count, int) or isinstance(count, bool):
            raise Problem(400, "bad request", "'mms_type' is a string and 'count' an integer")
        if status not in EXPIRY_STATUSES or isinstance(status, bool):
            raise Problem(400, "bad request", "'status' is 404 or 410")
        network().media.expire_next(mms_type, count, status)
        return _ok({"mms_type": mms_type, "count": count, "status": status})

    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/admin/media/expire-next", expire_next),
        ("POST", "/admin/accounts/{phone}/app-state", change_app_state),
        ("GET", "/admin/accounts/{phone}/app-state", app_state),
        ("DELETE", "/admin/accounts/{phone}/app-state/tamper", clear_tamper),
        ("POST", "/admin/app-state/snapshots", snapshots),
        ("POST", "/admin/accounts/{phone}/history", seed_history),
        ("GET", "/admin/accounts/{phone}/history", history),
        ("POST", "/admin/accounts/{phone}/history/push", push_history),
        ("GET", "/admin/accounts/{phone}/media/{message_id}", media_bytes),
        ("POST", "/admin/media/expire", expire_media),
    ]
    return [web.route(method, path, _guard(handler)) for method, path, handler in routes]
