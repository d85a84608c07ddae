"""QR pairing: ``pair-device`` refs → QR codes on the real schedule → ``pair-success`` → signed.

The server opens a registration socket with six refs. We answer the iq, then show one QR per ref
(60 s for the first, 20 s for each later one) and end the socket when they run out (``qr_expired``
— never an endless request loop). When the phone scans, ``pair-success`` brings the phone's
signed ADV identity: we check its HMAC with our ADV secret and the account signature, add our
device signature, persist the pairing (our JIDs and the primary's identity key, in one
transaction) and only then answer ``pair-device-sign``. The server then ends the socket with 515
and the session logs in with the new identity.

If the process dies after the commit but before the answer, the next start has a paired identity
the server never bound: the login is refused (401) and reported as logged out — an identity is
never minted silently either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from daemon.binary import JID, Node, Server
from daemon.client.connection import Connection
from daemon.client.context import SessionContext
from daemon.client.disconnect import Decision, DisconnectAction
from daemon.client.errors import StanzaError
from daemon.client.events import Alert, AlertKind, Paired, QrCode
from daemon.client.iq import build_error, build_result
from daemon.client.qr import QrPayload, ref_deadlines
from daemon.crypto.adv import AcceptedIdentity, AdvError, accept_pair_success
from daemon.crypto.curve import KeyPair as CurveKeyPair
from daemon.log import mask_phone
from daemon.signal.address import ProtocolAddress
from storage.values import DeviceCredentials


def parse_pair_device(node: Node) -> list[str]:
    """The refs of ``iq > pair-device > ref*`` (bytes content, used as text)."""
    pair_device = node.child("pair-device")
    if pair_device is None:
        raise StanzaError("pair-device iq without <pair-device>")
    refs = []
    for ref in pair_device.children_by_tag("ref"):
        raw = ref.content_bytes()
        if raw:
            refs.append(raw.decode("utf-8", "replace"))
    if not refs:
        raise StanzaError("pair-device carries no refs")
    return refs


def qr_string(ref: str, credentials: DeviceCredentials, platform_id: str) -> str:
    keys = credentials.keys
    return QrPayload(
        ref, keys.noise.public, keys.identity.public, keys.adv_secret, platform_id
    ).to_string()


@dataclass(frozen=True, slots=True)
class PairSuccess:
    iq_id: str
    device_identity: bytes
    """The ADVSignedDeviceIdentityHMAC container the phone made."""
    jid: JID
    lid: JID | None
    platform: str | None
    business_name: str | None
    server_time: int | None


def parse_pair_success(node: Node) -> PairSuccess:
    success = node.child("pair-success")
    if success is None:
        raise StanzaError("pair-success iq without <pair-success>")
    identity = success.child("device-identity")
    container = identity.content_bytes() if identity is not None else None
    device = success.child("device")
    jid = device.attr_jid("jid") if device is not None else None
    if not container or device is None or jid is None:
        raise StanzaError("pair-success lacks its device-identity or device jid")
    if jid.server != Server.PN or not jid.user.isdigit() or jid.device == 0:
        raise StanzaError(f"pair-success names an unusable device jid {jid}")
    lid = device.attr_jid("lid")
    platform = success.child("platform")
    business = success.child("biz")
    t = node.attr_str("t")
    return PairSuccess(
        iq_id=node.attr_str("id") or "",
        device_identity=container,
        jid=jid,
        lid=lid,
        platform=platform.attr_str("name") if platform is not None else None,
        business_name=business.attr_str("name") if business is not None else None,
        server_time=int(t) if t is not None and t.isdigit() else None,
    )


def build_pair_sign(request: Node, accepted: AcceptedIdentity) -> Node:
    """``iq result > pair-device-sign > device-identity(key-index)`` without the account key."""
    return build_result(
        request,
        [
            Node(
                "pair-device-sign",
                {},
                [
                    Node(
                        "device-identity",
                        {"key-index": str(accepted.key_index)},
                        accepted.reply_identity,
                    )
                ],
            )
        ],
    )


def primary_identity_address(success: PairSuccess) -> ProtocolAddress:
    """Where the primary's identity key is trusted: its LID device 0 (PN when no LID)."""
    account = success.lid if success.lid is not None else success.jid
    return ProtocolAddress.from_jid(account.with_device(0))


class PairingFlow:
    """The registration socket's handlers. ``adv_secret`` is replaced by code pairing."""

    def __init__(
        self,
        ctx: SessionContext,
        conn: Connection,
        *,
        show_qr: bool = True,
        on_refs: Callable[[float], None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._conn = conn
        self._show_qr = show_qr
        self._on_refs = on_refs
        self.adv_secret: bytes = ctx.require_credentials().keys.adv_secret
        self.paired = False

    async def on_pair_device(self, node: Node) -> None:
        refs = parse_pair_device(node)
        await self._conn.send(build_result(node))
        options = self._ctx.options
        schedule = ref_deadlines(refs, self._ctx.now(), options.qr_first_ttl, options.qr_later_ttl)
        if self._on_refs is not None:
            self._on_refs(schedule[-1][1])
        self._conn.spawn(self._rotate(schedule))

    async def _rotate(self, schedule: list[tuple[str, float]]) -> None:
        ctx = self._ctx
        credentials = ctx.require_credentials()
        for index, (ref, expires_at) in enumerate(schedule):
            if self.paired:
                return
            if self._show_qr:
                code = qr_string(ref, credentials, ctx.options.qr_platform_id)
                ctx.log.info("client.qr_code", index=index, expires_at=expires_at)
                ctx.publish(QrCode(ctx.session_id, code, index, expires_at))
            await asyncio.sleep(max(0.0, expires_at - ctx.now()))
        if self.paired:
            return
        what = "QR codes" if self._show_qr else "the pair code"
        message = f"{what} expired after {len(schedule)} refs without a scan"
        ctx.publish(Alert(ctx.session_id, AlertKind.QR_EXPIRED, message))
        self._conn.end(Decision(DisconnectAction.QR_EXPIRED, None, message))

    async def on_pair_success(self, node: Node) -> None:
        ctx = self._ctx
        success = parse_pair_success(node)
        credentials = ctx.require_credentials()
        identity = CurveKeyPair(
            private=credentials.keys.identity.private, public=credentials.keys.identity.public
        )
        try:
            accepted = accept_pair_success(success.device_identity, self.adv_secret, identity)
        except AdvError as exc:
            ctx.log.warning("client.pair_success_refused", code=exc.code, reason=exc.text)
            await self._conn.send(build_error(node, exc.code, exc.text))
            ctx.publish(
                Alert(ctx.session_id, AlertKind.PAIRING_FAILED, f"pair-success refused: {exc}")
            )
            return
        async with ctx.store.transaction():
            paired = await ctx.store.credentials.mark_paired(
                ctx.session_id,
                signed_device_identity=accepted.signed_identity,
                pn_jid=str(success.jid),
                lid_jid=str(success.lid) if success.lid is not None else None,
                platform=success.platform,
                push_name=ctx.config.push_name or success.business_name,
            )
            await ctx.store.identities.save(
                ctx.session_id,
                str(primary_identity_address(success)),
                accepted.account_signature_key,
            )
        ctx.credentials = paired
        self.paired = True
        ctx.log.debug("client.pairing_stored", key_index=accepted.key_index)
        await self._conn.send(build_pair_sign(node, accepted))
        ctx.log.info(
            "client.paired",
            jid=mask_phone(str(success.jid)),
            lid=str(success.lid) if success.lid is not None else None,
            platform=success.platform,
            key_index=accepted.key_index,
        )
        ctx.publish(
            Paired(
                ctx.session_id,
                str(success.jid),
                str(success.lid) if success.lid is not None else None,
                success.platform,
            )
        )
