"""Who is who: phone-number JIDs, LIDs and the Signal addresses sessions are kept under (pure).

Every person has a phone-number JID (PN) and a hidden-user JID (LID); stanzas name them by
either and tell the other in ``sender_pn``/``sender_lid``, ``participant_pn``/``participant_lid``
(protocol-inventory §0, §6.1). Two rules follow from that:

* chats and senders are stored under one canonical account JID: the PN when we know it (what a
  CRM works with), else the LID;
* Signal sessions and sender keys are keyed by the **LID** device address once the mapping is
  known (as whatsmeow and Baileys do), so a peer's PN- and LID-addressed traffic share one
  session. Before a mapping is known the PN address is used; ``SqliteContactRepo`` moves such
  sessions when the mapping turns up.
"""

from __future__ import annotations

from daemon.binary import JID, Server
from daemon.signal.address import ProtocolAddress, SenderKeyName


class Addressing:
    def __init__(self, own_pn: JID, own_lid: JID | None) -> None:
        self.own_pn = own_pn.to_non_ad()
        self.own_lid = own_lid.to_non_ad() if own_lid is not None else None
        self.own_device = own_pn.device
        self._lid_by_pn: dict[str, str] = {}
        self._pn_by_lid: dict[str, str] = {}
        if self.own_lid is not None:
            self.learn(self.own_pn, self.own_lid)

    def learn(self, pn: JID, lid: JID) -> bool:
        """Records that ``pn`` and ``lid`` are one person; True when this is news."""
        if not pn.is_pn or not lid.is_lid:
            raise ValueError(f"expected a phone-number JID and a LID, got {pn} and {lid}")
        if self._lid_by_pn.get(pn.user) == lid.user and self._pn_by_lid.get(lid.user) == pn.user:
            return False
        old_lid = self._lid_by_pn.get(pn.user)
        if old_lid is not None:
            self._pn_by_lid.pop(old_lid, None)
        self._lid_by_pn[pn.user] = lid.user
        self._pn_by_lid[lid.user] = pn.user
        return True

    def lid_of(self, jid: JID) -> JID | None:
        if jid.is_lid:
            return jid.to_non_ad()
        user = self._lid_by_pn.get(jid.user) if jid.is_pn else None
        return JID(user, Server.LID) if user is not None else None

    def pn_of(self, jid: JID) -> JID | None:
        if jid.is_pn:
            return jid.to_non_ad()
        user = self._pn_by_lid.get(jid.user) if jid.is_lid else None
        return JID(user, Server.PN) if user is not None else None

    def account(self, jid: JID) -> JID:
        """The canonical account JID of a user or device JID (PN if known, else as given)."""
        plain = jid.unhosted().to_non_ad()
        if plain.is_lid:
            return self.pn_of(plain) or plain
        return plain

    def account_device(self, device: JID) -> JID:
        """A device JID in the canonical form of its account (PN device when known)."""
        return self.account(device).with_device(device.device)

    def is_own(self, jid: JID) -> bool:
        plain = jid.unhosted().to_non_ad()
        return plain == self.own_pn or (self.own_lid is not None and plain == self.own_lid)

    def is_own_device(self, jid: JID) -> bool:
        """This very device (not just our account)."""
        return self.is_own(jid) and jid.device == self.own_device

    def signal_device(self, device: JID) -> JID:
        """The device JID Signal state is keyed by: the LID device when the LID is known (a
        hosted device under ``hosted.lid``, as Baileys moves such sessions)."""
        if device.is_pn:
            lid = self.lid_of(device)
            if lid is not None:
                return lid.with_device(device.device)
        elif device.server == Server.HOSTED:
            lid = self.lid_of(device.unhosted())
            if lid is not None:
                return JID(lid.user, Server.HOSTED_LID, device.device)
        return device

    def signal_address(self, device: JID) -> ProtocolAddress:
        return ProtocolAddress.from_jid(self.signal_device(device))

    def own_sender_key_name(self, group: JID) -> SenderKeyName:
        """Our own sender key for ``group`` (under our LID address, like whatsmeow)."""
        own = self.own_lid or self.own_pn
        return SenderKeyName(str(group), ProtocolAddress.from_jid(own.with_device(self.own_device)))

    def sender_key_name(self, group: JID, sender_device: JID) -> SenderKeyName:
        return SenderKeyName(str(group), self.signal_address(sender_device))
