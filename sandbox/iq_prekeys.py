"""``xmlns=encrypt``: prekey count, upload, bundle fetch, digest, signed prekey rotation.

Keys travel as raw 32-byte publics (no 0x05 type byte), ids as 3 bytes and the registration id
as 4 bytes, big-endian (protocol-inventory §4.3, §7.3). Fetching a bundle consumes one one-time
prekey; when a device has fewer than ``LOW_PREKEYS`` left the server tells it with
``notification type=encrypt > count``.
"""

from __future__ import annotations

from daemon.binary import SERVER_JID, Node
from daemon.crypto.curve import verify
from sandbox.directory import Device, PreKey, SignedPreKey
from sandbox.iq import IqContext, IqFailure, bad_request
from sandbox.stanzas import iq_result, new_server_id

LOW_PREKEYS = 5
KEY_TYPE_DJB = b"\x05"
MAX_UPLOAD = 2000


def _bytes(node: Node | None, what: str, length: int | None = None) -> bytes:
    value = node.content_bytes() if node is not None else None
    if value is None or (length is not None and len(value) != length):
        raise bad_request(f"{what} missing or malformed")
    return value


def _key_id(node: Node | None, what: str) -> int:
    return int.from_bytes(_bytes(node, what, 3), "big")


async def handle(ctx: IqContext, iq: Node) -> Node | None:
    kind = iq.attr_str("type")
    if kind == "get":
        if iq.child("count") is not None:
            return iq_result(iq, [Node("count", {"value": str(len(ctx.device.prekeys))})])
        if (key := iq.child("key")) is not None:
            return iq_result(iq, [await _fetch_bundles(ctx, key)])
        if iq.child("digest") is not None:
            return iq_result(iq, [_digest(ctx.device)])
    elif kind == "set":
        if (rotate := iq.child("rotate")) is not None:
            await _rotate(ctx, rotate)
            return iq_result(iq)
        if iq.child("list") is not None or iq.child("skey") is not None:
            await _upload(ctx, iq)
            return iq_result(iq)
    raise bad_request("unknown encrypt request")


def _signed_prekey(ctx: IqContext, skey: Node | None, identity: bytes) -> SignedPreKey:
    if skey is None:
        raise bad_request("skey missing")
    spk = SignedPreKey(
        _key_id(skey.child("id"), "skey id"),
        _bytes(skey.child("value"), "skey value", 32),
        _bytes(skey.child("signature"), "skey signature", 64),
    )
    if not verify(identity, KEY_TYPE_DJB + spk.public, spk.signature):
        raise IqFailure(406, "signed prekey signature does not verify")
    return spk


async def _upload(ctx: IqContext, iq: Node) -> None:
    device = ctx.device
    identity = _bytes(iq.child("identity"), "identity", 32)
    if identity != device.identity_public:
        raise IqFailure(409, "identity differs from the one registered at pairing")
    registration = iq.child("registration")
    registration_id = int.from_bytes(_bytes(registration, "registration", 4), "big")
    spk = _signed_prekey(ctx, iq.child("skey"), identity)
    keys = [
        PreKey(_key_id(k.child("id"), "key id"), _bytes(k.child("value"), "key value", 32))
        for k in (iq.child("list") or Node("list")).children_by_tag("key")
    ]
    if len(keys) > MAX_UPLOAD:
        raise bad_request(f"at most {MAX_UPLOAD} prekeys per upload")
    device.registration_id = registration_id
    device.signed_prekey = spk
    for key in keys:
        device.prekeys[key.key_id] = key
    state = ctx.network.state
    async with state.transaction():
        await state.save_device(device)
        await state.add_prekeys(device, keys)


async def _rotate(ctx: IqContext, rotate: Node) -> None:
    ctx.device.signed_prekey = _signed_prekey(ctx, rotate.child("skey"), ctx.device.identity_public)
    await ctx.network.state.save_device(ctx.device)


def _digest(device: Device) -> Node:
    children = [
        Node("registration", {}, device.registration_id.to_bytes(4, "big")),
        Node("type", {}, KEY_TYPE_DJB),
        Node("identity", {}, device.identity_public),
        Node("list", {}, [Node("id", {}, k.to_bytes(3, "big")) for k in sorted(device.prekeys)]),
    ]
    if device.signed_prekey is not None:
        children.append(
            Node("skey", {}, [Node("id", {}, device.signed_prekey.key_id.to_bytes(3, "big"))])
        )
    return Node("digest", {}, children)


async def _fetch_bundles(ctx: IqContext, key: Node) -> Node:
    network = ctx.network
    users: list[Node] = []
    for user in key.children_by_tag("user"):
        jid = user.attr_jid("jid")
        if jid is None:
            raise bad_request("user without jid")
        device = network.directory.device(jid)
        if device is None or device.logged_out or device.signed_prekey is None:
            users.append(
                Node(
                    "user", {"jid": jid}, [Node("error", {"code": "404", "text": "item-not-found"})]
                )
            )
            continue
        children = [
            Node("registration", {}, device.registration_id.to_bytes(4, "big")),
            Node("type", {}, KEY_TYPE_DJB),
            Node("identity", {}, device.identity_public),
            Node(
                "skey",
                {},
                [
                    Node("id", {}, device.signed_prekey.key_id.to_bytes(3, "big")),
                    Node("value", {}, device.signed_prekey.public),
                    Node("signature", {}, device.signed_prekey.signature),
                ],
            ),
        ]
        if device.prekeys:
            prekey = device.prekeys.pop(min(device.prekeys))
            children.append(
                Node(
                    "key",
                    {},
                    [
                        Node("id", {}, prekey.key_id.to_bytes(3, "big")),
                        Node("value", {}, prekey.public),
                    ],
                )
            )
            await network.state.delete_prekey(device, prekey.key_id)
            if len(device.prekeys) < LOW_PREKEYS:
                await network.deliver(device.jid(), low_prekeys_notification(device))
        users.append(Node("user", {"jid": jid}, children))
    return Node("list", {}, users)


def low_prekeys_notification(device: Device) -> Node:
    return Node(
        "notification",
        {"from": SERVER_JID, "type": "encrypt", "id": new_server_id()},
        [Node("count", {"value": str(len(device.prekeys))})],
    )
