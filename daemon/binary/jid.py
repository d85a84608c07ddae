"""JIDs: the addresses of users, devices, groups and servers.

String form (what ``str(jid)`` writes and ``JID.parse`` reads, a round trip for every valid JID):

- ``user@server``, ``user:device@server`` (device > 0), ``@server`` (server JIDs have no user);
- agent JIDs (whatsmeow's form): ``user.agent:device@s.whatsapp.net``;
- interop JIDs always carry their integrator (Baileys' form): ``integrator-user[:device]@interop``.

Which fields a server admits is checked on construction, so a JID that cannot be written on the
wire or read back from its string cannot exist:

- ``device`` only on servers that address devices: ``s.whatsapp.net``, ``lid``, ``hosted`` and
  ``hosted.lid`` (0..255, one byte in AD_JID) and ``msgr`` / ``interop`` (0..65535);
- ``agent`` only on ``s.whatsapp.net``, and never 1, 128 or 129: those AD_JID domain bytes mean
  lid / hosted / hosted.lid, so such an agent would read back as another server;
- ``integrator`` only on ``interop``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from daemon.binary.errors import JIDError

__all__ = [
    "BROADCAST_SERVER_JID",
    "GROUP_SERVER_JID",
    "JID",
    "LID_SERVER_JID",
    "OFFICIAL_BUSINESS_JID",
    "PSA_JID",
    "SERVER_JID",
    "STATUS_BROADCAST_JID",
    "Server",
]


class Server(enum.StrEnum):
    """Known JID servers. JIDs may carry other server strings; these are the ones we act on."""

    PN = "s.whatsapp.net"  # phone-number users and their devices
    LID = "lid"  # hidden ("LID") users and their devices
    GROUP = "g.us"
    BROADCAST = "broadcast"  # broadcast lists and status@broadcast
    HOSTED = "hosted"  # hosted (Cloud API) phone-number devices
    HOSTED_LID = "hosted.lid"
    NEWSLETTER = "newsletter"
    MESSENGER = "msgr"  # Facebook Messenger users (FB_JID)
    INTEROP = "interop"  # third-party interop users (INTEROP_JID)
    LEGACY_USER = "c.us"
    BOT = "bot"
    CALL = "call"


# AD_JID's first byte names the server for these; any other value is a raw agent on PN.
AD_DOMAIN_BY_SERVER: Final[dict[str, int]] = {
    Server.PN: 0,
    Server.LID: 1,
    Server.HOSTED: 128,
    Server.HOSTED_LID: 129,
}
AD_SERVER_BY_DOMAIN: Final[dict[int, str]] = {
    domain: str(server) for server, domain in AD_DOMAIN_BY_SERVER.items()
}
_HOSTED_SERVERS: Final = frozenset({Server.HOSTED, Server.HOSTED_LID})
_PLAIN_SERVER: Final[dict[str, str]] = {Server.HOSTED: Server.PN, Server.HOSTED_LID: Server.LID}
_U16_DEVICE_SERVERS: Final = frozenset({Server.MESSENGER, Server.INTEROP})
_INTEROP_USER = re.compile(r"([0-9]{1,5})-(.*)", re.S)
_MAX_DIGITS = 5  # every numeric field fits 16 bits; longer digit runs are rejected before int()


@dataclass(frozen=True, slots=True)
class JID:
    """A WhatsApp address. ``device`` 0 is the primary device (or "no device")."""

    user: str
    server: str
    device: int = 0
    agent: int = 0
    integrator: int = 0

    def __post_init__(self) -> None:
        user, server = self.user, self.server
        if not isinstance(user, str) or not isinstance(server, str):
            raise JIDError("JID user and server must be strings")
        if not server or "@" in server:
            raise JIDError(f"invalid JID server {server!r}")
        if "@" in user or ":" in user:
            raise JIDError(f"invalid JID user {user!r}: '@' and ':' are separators")
        if server == Server.PN and "." in user:
            raise JIDError(f"invalid JID user {user!r}: '.' separates the agent on {server}")
        if self.device:
            _check_int("device", self.device, _device_limit(server))
        if self.agent:
            if server != Server.PN:
                raise JIDError(f"agent {self.agent} is only valid on {Server.PN}, not {server}")
            _check_int("agent", self.agent, 255)
            if self.agent in AD_SERVER_BY_DOMAIN:
                raise JIDError(f"agent {self.agent} is an AD_JID domain byte, not an agent")
        if self.integrator:
            if server != Server.INTEROP:
                raise JIDError(f"integrator is only valid on {Server.INTEROP}, not {server}")
            _check_int("integrator", self.integrator, 0xFFFF)

    @classmethod
    def parse(cls, text: str) -> JID:
        """Parse the string form; raises ``JIDError`` for anything else."""
        if not isinstance(text, str):
            raise JIDError(f"a JID string is required, got {type(text).__name__}")
        user, at, server = text.partition("@")
        if not at:
            raise JIDError(f"not a JID (no '@'): {text!r}")
        device = agent = integrator = 0
        if ":" in user:
            user, _, device_text = user.partition(":")
            device = _parse_int("device", device_text, text)
        if server == Server.PN and "." in user:
            user, _, agent_text = user.partition(".")
            agent = _parse_int("agent", agent_text, text)
        elif server == Server.INTEROP and (match := _INTEROP_USER.fullmatch(user)):
            integrator = int(match.group(1))
            user = match.group(2)
        try:
            return cls(user, server, device, agent, integrator)
        except JIDError as exc:
            raise JIDError(f"invalid JID {text!r}: {exc}") from None

    def __str__(self) -> str:
        user = self.user
        if self.server == Server.INTEROP:
            user = f"{self.integrator}-{user}"
        if self.agent:
            return f"{user}.{self.agent}:{self.device}@{self.server}"
        if self.device:
            return f"{user}:{self.device}@{self.server}"
        return f"{user}@{self.server}"

    # Predicates the client branches on.

    @property
    def is_pn(self) -> bool:
        return self.server == Server.PN

    @property
    def is_lid(self) -> bool:
        return self.server == Server.LID

    @property
    def is_hosted(self) -> bool:
        return self.server in _HOSTED_SERVERS

    @property
    def is_group(self) -> bool:
        return self.server == Server.GROUP

    @property
    def is_broadcast(self) -> bool:
        """Any broadcast JID, including ``status@broadcast``."""
        return self.server == Server.BROADCAST

    @property
    def is_status_broadcast(self) -> bool:
        return self == STATUS_BROADCAST_JID

    @property
    def is_newsletter(self) -> bool:
        return self.server == Server.NEWSLETTER

    @property
    def is_server(self) -> bool:
        """A server's own JID, such as ``@s.whatsapp.net`` (no user)."""
        return not self.user

    @property
    def is_ad(self) -> bool:
        """Names a specific device (or agent) rather than a whole account."""
        return bool(self.device or self.agent)

    @property
    def ad_domain(self) -> int | None:
        """The AD_JID first byte for this JID, or None when its server has no AD form."""
        domain = AD_DOMAIN_BY_SERVER.get(self.server)
        if domain == 0 and self.agent:
            return self.agent
        return domain

    def to_non_ad(self) -> JID:
        """The account this device belongs to (device and agent dropped)."""
        if not self.device and not self.agent:
            return self
        return _checked(self.user, self.server, 0, 0, self.integrator)

    def with_device(self, device: int) -> JID:
        if device == self.device:
            return self
        if device:
            _check_int("device", device, _device_limit(self.server))
        return _checked(self.user, self.server, device, self.agent, self.integrator)

    def unhosted(self) -> JID:
        """The same user and device on the plain server (``hosted`` → ``s.whatsapp.net``,
        ``hosted.lid`` → ``lid``): the account a hosted device's 1:1 messages belong to, as
        whatsmeow (message.go) and Baileys (``cleanMessage``) name chat and sender."""
        plain = _PLAIN_SERVER.get(self.server)
        return self if plain is None else JID(self.user, plain, self.device)


_new = object.__new__
_set = object.__setattr__


def _checked(user: str, server: str, device: int, agent: int, integrator: int) -> JID:
    """A JID from fields already checked: those of a valid JID, changed only in ways the
    caller checked. The send path derives some twenty JIDs per message from valid ones (a
    device of an account, the account of a device); validating each again cost more than
    making it."""
    jid = _new(JID)
    _set(jid, "user", user)
    _set(jid, "server", server)
    _set(jid, "device", device)
    _set(jid, "agent", agent)
    _set(jid, "integrator", integrator)
    return jid


def _device_limit(server: str) -> int:
    if server in AD_DOMAIN_BY_SERVER:
        return 255
    if server in _U16_DEVICE_SERVERS:
        return 0xFFFF
    raise JIDError(f"server {server!r} has no devices")


def _check_int(name: str, value: object, limit: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise JIDError(f"JID {name} must be an integer in 0..{limit}, got {value!r}")


def _parse_int(name: str, digits: str, text: str) -> int:
    if not (0 < len(digits) <= _MAX_DIGITS and digits.isascii() and digits.isdigit()):
        raise JIDError(f"invalid JID {text!r}: {name} {digits!r} is not a small decimal number")
    return int(digits)


SERVER_JID: Final = JID("", Server.PN.value)
"""``@s.whatsapp.net``: the WhatsApp server itself (``to``/``from`` of iqs)."""
LID_SERVER_JID: Final = JID("", Server.LID.value)
GROUP_SERVER_JID: Final = JID("", Server.GROUP.value)
BROADCAST_SERVER_JID: Final = JID("", Server.BROADCAST.value)
STATUS_BROADCAST_JID: Final = JID("status", Server.BROADCAST.value)
PSA_JID: Final = JID("0", Server.PN.value)
OFFICIAL_BUSINESS_JID: Final = JID("16505361212", Server.LEGACY_USER.value)
