"""Where a message goes, and our Signal sessions with the devices there.

A 1:1 message goes to the contact's LID when it has one (the service drops DMs to a migrated
account's phone number); every device of the recipients comes from their device lists (usync,
cached per session); a device we have no session with gets one from its prekey bundle; then each
device gets its own ``enc``. The sender uses all of it, peer messages to our own phone and
resends after a retry receipt the sessions and the ``enc``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence

from daemon.binary import JID, Node, Server
from daemon.binary.node import AttrValue
from daemon.client.connection import Connection
from daemon.client.errors import IqError, StanzaError
from daemon.client.message_context import MessagingContext
from daemon.client.prekey_fetch import build_prekey_request, parse_prekey_answer
from daemon.client.signal_stage import StagedSignalStore
from daemon.client.usync import build_device_query, parse_device_answer
from daemon.signal.address import ProtocolAddress
from daemon.signal.cipher import SessionCipher
from daemon.signal.errors import (
    CorruptRecordError,
    InvalidKeyError,
    InvalidSignatureError,
    NoSessionError,
    UntrustedIdentityError,
)
from daemon.signal.keys import PreKeyBundle
from daemon.signal.padding import pad
from daemon.signal.session import EncType


def enc_node(
    kind: EncType,
    body: bytes,
    *,
    hide: bool = False,
    count: int = 0,
    media_type: str | None = None,
) -> Node:
    attrs: dict[str, AttrValue] = {"v": "2", "type": kind.value}
    if media_type is not None:
        attrs["mediatype"] = media_type
    if hide:
        attrs["decrypt-fail"] = "hide"
    if count:
        attrs["count"] = str(count)
    return Node("enc", attrs, body)


class DeviceSessions:
    """The devices of a message's recipients and our sessions with them, for one session."""

    def __init__(self, m: MessagingContext) -> None:
        self._m = m

    async def direct_address(self, connection: Connection, to: JID) -> tuple[JID, JID | None]:
        """Where a 1:1 message goes: the contact's LID (asked over usync when unknown), with
        its phone number as the alternate — the service drops DMs to a migrated account's
        phone number. A contact without a LID (or our own account) keeps the JID given."""
        m = self._m
        addressing = m.addressing
        peer = to.to_non_ad()
        if addressing.is_own(peer):
            return peer, None
        if peer.is_lid:
            return peer, addressing.pn_of(peer)
        if addressing.lid_of(peer) is None and peer.is_pn:
            m.devices.invalidate(addressing.account(peer))
            await self.devices_of(connection, [peer])  # the answer's lid is learnt
        lid = addressing.lid_of(peer)
        return (lid, peer) if lid is not None else (peer, None)

    async def devices_of(
        self, connection: Connection, users: Iterable[JID], *, hosted: bool = False
    ) -> list[JID]:
        """Every device of ``users`` (each in the form it was named), this device excluded;
        with ``hosted``, their hosted (Cloud API) devices too (1:1 chats reach them)."""
        m = self._m
        addressing = m.addressing
        wanted = list(dict.fromkeys(u.to_non_ad() for u in users))
        missing = [u for u in wanted if m.devices.get(addressing.account(u)) is None]
        if missing:
            answer = await connection.query(
                build_device_query(missing, secrets.token_hex(8)), timeout=m.ack_timeout
            )
            for found in parse_device_answer(answer):
                if found.lid is not None and found.user.is_pn:
                    await m.learn_mapping(found.user, found.lid)
                m.devices.put(addressing.account(found.user), found.device_ids, found.hosted_ids)
        devices: list[JID] = []
        seen: set[ProtocolAddress] = set()
        for user in wanted:
            # Mappings learnt above change accounts: each is taken after the query, once.
            account = addressing.account(user)
            own_account = addressing.is_own(user)
            for device_id in m.devices.get(account) or ():
                device = user.with_device(device_id)
                address = addressing.signal_address(device)
                if (own_account and device_id == addressing.own_device) or address in seen:
                    continue
                seen.add(address)
                devices.append(device)
            if hosted and not own_account:
                server = Server.HOSTED_LID if user.is_lid else Server.HOSTED
                for device_id in m.devices.hosted(account):
                    devices.append(JID(user.user, server, device_id))
        return devices

    async def fetch_bundles(
        self, connection: Connection, devices: Sequence[JID], *, force: bool = False
    ) -> dict[JID, PreKeyBundle]:
        """Prekey bundles for the devices we have no session with (all of them if ``force``),
        by device as named in ``devices``."""
        m = self._m
        addressing = m.addressing
        cipher = SessionCipher(m.signal)
        missing: list[JID] = []
        for device in devices:
            address = addressing.signal_address(device)
            try:
                present = await cipher.has_session(address)
            except CorruptRecordError:
                m.log.error("client.signal_record_corrupt", address=str(address))
                await m.signal.delete_session(address)
                present = False
            if force or not present:
                missing.append(device)
        if not missing:
            return {}
        try:
            answer = await connection.query(
                build_prekey_request(missing, reason_identity=force), timeout=m.ack_timeout
            )
        except IqError as exc:
            m.log.warning("client.prekey_fetch_failed", error=str(exc))
            return {}
        try:
            fetched = parse_prekey_answer(answer)
        except StanzaError as exc:
            m.log.warning("client.prekey_answer_unreadable", error=str(exc))
            return {}
        # The server may name a device in the other addressing (PN for LID): match by address.
        by_address = {addressing.signal_address(d): b for d, b in fetched.items()}
        bundles: dict[JID, PreKeyBundle] = {}
        for device in missing:
            bundle = by_address.get(addressing.signal_address(device))
            if bundle is not None:
                bundles[device] = bundle
        return bundles

    async def start_sessions(
        self,
        staged: StagedSignalStore,
        bundles: dict[JID, PreKeyBundle],
        *,
        replace: bool = False,
    ) -> None:
        """New sessions from ``bundles`` where none exists (or always, with ``replace``).
        Call under the crypto lock: addresses are resolved here, where they cannot change."""
        cipher = SessionCipher(staged)
        for device, bundle in bundles.items():
            address = self._m.addressing.signal_address(device)
            if not replace and await cipher.has_session(address):
                continue  # a prekey message from that device started one meanwhile
            try:
                await cipher.process_bundle(address, bundle)
            except (InvalidSignatureError, InvalidKeyError, UntrustedIdentityError) as exc:
                self._m.log.warning("client.bad_bundle", address=str(address), error=str(exc))

    async def encrypt(
        self,
        cipher: SessionCipher,
        device: JID,
        plaintext: bytes,
        *,
        hide: bool = False,
        count: int = 0,
        media_type: str | None = None,
    ) -> Node | None:
        """The ``enc`` for one device; None when we have no session with it. ``cipher`` is
        over the caller's staged store: a send stages all its devices' ratchet steps in one."""
        address = self._m.addressing.signal_address(device)
        try:
            encrypted = await cipher.encrypt(address, pad(plaintext))
        except NoSessionError:
            self._m.log.info("client.device_skipped", device=str(device), reason="no session")
            return None
        return enc_node(
            encrypted.message.type,
            encrypted.message.body,
            hide=hide,
            count=count,
            media_type=media_type,
        )


__all__ = ["DeviceSessions", "enc_node"]
