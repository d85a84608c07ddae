"""Fetching prekey bundles for devices we have no session with (protocol-inventory §7.3, pure).

``iq(xmlns=encrypt, type=get) > key > user(jid=<device>[, reason=identity])*``; the answer is
``list > user(jid) > [registration(4B), type?, identity(32B), skey > [id(3B), value, signature],
key > [id(3B), value]?]`` (whatsmeow also accepts these under a ``keys`` wrapper). A user answered
with ``error`` is left out: that device is skipped for this send, as both clients do.
"""

from __future__ import annotations

from collections.abc import Sequence

from daemon.binary import JID, AttrError, JIDError, Node
from daemon.client.errors import StanzaError
from daemon.client.iq import build_iq
from daemon.signal.errors import InvalidKeyError
from daemon.signal.keys import PreKeyBundle


def build_prekey_request(devices: Sequence[JID], *, reason_identity: bool = False) -> Node:
    if not devices:
        raise ValueError("a prekey request names at least one device")
    extra = {"reason": "identity"} if reason_identity else {}
    users = [Node("user", {"jid": device, **extra}) for device in devices]
    return build_iq("encrypt", "get", [Node("key", {}, users)])


def _bytes(node: Node, *path: str, size: int | None = None) -> bytes:
    child = node.child(*path)
    data = child.content_bytes() if child is not None else None
    if data is None or (size is not None and len(data) != size):
        raise StanzaError(f"prekey bundle: <{'>'.join(path)}> missing or malformed")
    return data


def _key_id(node: Node, *path: str) -> int:
    return int.from_bytes(_bytes(node, *path, size=3), "big")


def parse_bundle(user: Node) -> PreKeyBundle:
    """One ``user`` (or ``keys``) node's bundle. Raises StanzaError when malformed."""
    holder = user.child("keys") or user
    registration = int.from_bytes(_bytes(holder, "registration", size=4), "big")
    identity = _bytes(holder, "identity")
    skey = holder.child("skey")
    if skey is None:
        raise StanzaError("prekey bundle without a signed prekey")
    prekey_id: int | None = None
    prekey: bytes | None = None
    if (key := holder.child("key")) is not None:
        prekey_id = _key_id(key, "id")
        prekey = _bytes(key, "value")
    try:
        return PreKeyBundle(
            registration_id=registration,
            identity_key=identity[-32:],
            signed_prekey_id=_key_id(skey, "id"),
            signed_prekey=_bytes(skey, "value")[-32:],
            signed_prekey_signature=_bytes(skey, "signature", size=64),
            prekey_id=prekey_id,
            prekey=prekey[-32:] if prekey is not None else None,
        )
    except InvalidKeyError as exc:
        raise StanzaError(f"prekey bundle: {exc}") from None


def parse_prekey_answer(answer: Node) -> dict[JID, PreKeyBundle]:
    """Bundles by device JID (as the server named them); failed users are left out."""
    listed = answer.child("list")
    if listed is None:
        raise StanzaError("prekey answer without list")
    bundles: dict[JID, PreKeyBundle] = {}
    for user in listed.children_by_tag("user"):
        try:
            jid = user.attr_jid("jid")
        except (AttrError, JIDError) as exc:
            raise StanzaError(f"prekey answer user: {exc}") from None
        if jid is None or user.child("error") is not None:
            continue
        bundles[jid] = parse_bundle(user)
    return bundles
