"""Who a session or a sender key belongs to, in the forms WhatsApp clients store them under.

A device JID maps to a Signal address (name, device id). The name is the JID user, with
``_<domain>`` appended when the JID's domain is not plain WhatsApp: LID ``_1``, hosted ``_128``,
hosted LID ``_129`` (whatsmeow ``JID.SignalAddressUser``; Baileys ``jidToSignalProtocolAddress``).
So ``123456:3@lid`` is ``123456_1`` device 3, and ``15550001111@s.whatsapp.net`` is
``15550001111`` device 0. The string form is libsignal's ``name.device`` (Baileys' storage keys;
whatsmeow writes ``name:device``).

A sender key belongs to (group, sender address); its string form is Baileys'
``<group jid>::<name>::<device>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.binary.jid import AD_DOMAIN_BY_SERVER, JID

_new = object.__new__
_set = object.__setattr__


@dataclass(frozen=True, slots=True)
class ProtocolAddress:
    name: str
    device_id: int

    def __post_init__(self) -> None:
        if not self.name or "." in self.name or ":" in self.name:
            raise ValueError(f"invalid Signal address name {self.name!r}")
        if not 0 <= self.device_id <= 0xFFFF:
            raise ValueError(f"invalid Signal device id {self.device_id}")

    def __str__(self) -> str:
        return f"{self.name}.{self.device_id}"

    @classmethod
    def parse(cls, text: str) -> ProtocolAddress:
        """Reads the ``name.device`` form."""
        name, dot, device = text.rpartition(".")
        if not dot or not device.isascii() or not device.isdigit():
            raise ValueError(f"not a Signal address: {text!r}")
        return cls(name, int(device))

    @classmethod
    def from_jid(cls, jid: JID) -> ProtocolAddress:
        """The address of a device JID (device 0 when the JID names none)."""
        if not jid.user:
            raise ValueError(f"{jid} has no user, so no Signal address")
        # Like whatsmeow, the domain comes from the server; a raw agent counts only elsewhere.
        domain = AD_DOMAIN_BY_SERVER.get(jid.server, jid.agent)
        name = jid.user if domain == 0 else f"{jid.user}_{domain}"
        if "." in name:
            raise ValueError(f"invalid Signal address name {name!r}")
        # What else __post_init__ checks a JID already guarantees (a user without ':', a
        # device in 0..65535): the send path makes several addresses per device.
        address = _new(cls)
        _set(address, "name", name)
        _set(address, "device_id", jid.device)
        return address


@dataclass(frozen=True, slots=True)
class SenderKeyName:
    group_id: str
    sender: ProtocolAddress

    def __str__(self) -> str:
        return f"{self.group_id}::{self.sender.name}::{self.sender.device_id}"

    @classmethod
    def from_jids(cls, group: JID, sender: JID) -> SenderKeyName:
        return cls(str(group), ProtocolAddress.from_jid(sender))
