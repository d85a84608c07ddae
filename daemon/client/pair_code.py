"""Pairing by phone number: the companion side of ``link_code_companion_reg``.

On a registration socket (after ``pair-device`` proved it ready) we pick an 8-character code,
wrap a fresh ephemeral key with it (``companion_hello``) and show the code. The user types it on
the phone; the server relays the phone's wrapped ephemeral key in a notification; we derive the
new ADV secret and prove our identity key (``companion_finish``). From there ``pair-success``
arrives exactly as after a QR scan, checked against the derived ADV secret.

The code's key stretching is 131072 PBKDF2 rounds, so it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from daemon.binary import JID, Node, Server
from daemon.client.acks import build_ack
from daemon.client.connection import Connection
from daemon.client.context import SessionContext
from daemon.client.errors import InvalidPhoneNumber, StanzaError
from daemon.client.events import Alert, AlertKind, PairCode
from daemon.client.iq import build_iq
from daemon.client.pairing import PairingFlow
from daemon.crypto import pair_code as crypto
from daemon.crypto.curve import KeyPair as CurveKeyPair
from daemon.log import mask_phone

MIN_PHONE_DIGITS = 7
ASCII_DIGITS = frozenset("0123456789")
"""Not ``str.isdigit``: that takes ``²`` and Arabic-Indic digits too."""


def normalize_phone(phone: str) -> str:
    """Digits of an international number: ``+1 (555) 010-9999`` → ``15550109999``."""
    digits = "".join(ch for ch in phone if ch in ASCII_DIGITS)
    if len(digits) < MIN_PHONE_DIGITS:
        raise InvalidPhoneNumber(f"a phone number has at least {MIN_PHONE_DIGITS} digits")
    if digits.startswith("0"):
        raise InvalidPhoneNumber(
            "give the number in international form (country code first, no leading 0)"
        )
    if len(digits) > 20:
        raise InvalidPhoneNumber("a phone number has at most 20 digits")
    return digits


def build_companion_hello(
    phone: str,
    wrapped_ephemeral: bytes,
    noise_public: bytes,
    platform_id: str,
    platform_display: str,
    show_push_notification: bool = True,
) -> Node:
    return build_iq(
        "md",
        "set",
        [
            Node(
                "link_code_companion_reg",
                {
                    "jid": JID(phone, Server.PN),
                    "stage": "companion_hello",
                    "should_show_push_notification": "true" if show_push_notification else "false",
                },
                [
                    Node(
                        "link_code_pairing_wrapped_companion_ephemeral_pub", {}, wrapped_ephemeral
                    ),
                    Node("companion_server_auth_key_pub", {}, noise_public),
                    Node("companion_platform_id", {}, platform_id),
                    Node("companion_platform_display", {}, platform_display),
                    Node("link_code_pairing_nonce", {}, b"\x00"),
                ],
            )
        ],
    )


def parse_hello_answer(answer: Node) -> bytes:
    ref = answer.child("link_code_companion_reg", "link_code_pairing_ref")
    value = ref.content_bytes() if ref is not None else None
    if not value:
        raise StanzaError("companion_hello answer has no link_code_pairing_ref")
    return value


@dataclass(frozen=True, slots=True)
class PrimaryHello:
    ref: bytes
    primary_identity_public: bytes
    wrapped_primary_ephemeral: bytes


def parse_primary_hello(node: Node) -> PrimaryHello:
    reg = node.child("link_code_companion_reg")
    if reg is None:
        raise StanzaError("link code notification without <link_code_companion_reg>")

    def field(tag: str) -> bytes:
        child = reg.child(tag)
        value = child.content_bytes() if child is not None else None
        if not value:
            raise StanzaError(f"link code notification lacks <{tag}>")
        return value

    hello = PrimaryHello(
        field("link_code_pairing_ref"),
        field("primary_identity_pub"),
        field("link_code_pairing_wrapped_primary_ephemeral_pub"),
    )
    if len(hello.primary_identity_public) != 32:
        raise StanzaError("primary_identity_pub is not 32 bytes")
    if len(hello.wrapped_primary_ephemeral) < crypto.WRAPPED_KEY_LENGTH:
        raise StanzaError("the wrapped primary ephemeral key is too short")
    return hello


def build_companion_finish(phone: str, finish: crypto.CompanionFinish, ref: bytes) -> Node:
    return build_iq(
        "md",
        "set",
        [
            Node(
                "link_code_companion_reg",
                {"jid": JID(phone, Server.PN), "stage": "companion_finish"},
                [
                    Node("link_code_pairing_wrapped_key_bundle", {}, finish.wrapped_key_bundle),
                    Node("companion_identity_public", {}, finish.companion_identity_public),
                    Node("link_code_pairing_ref", {}, ref),
                ],
            )
        ],
    )


@dataclass(slots=True)
class _Pending:
    code: str
    ephemeral: CurveKeyPair
    ref: bytes


class CodePairing:
    """One code exchange on one registration socket; feeds the ADV secret to ``pairing``."""

    def __init__(
        self, ctx: SessionContext, conn: Connection, pairing: PairingFlow, phone: str
    ) -> None:
        self._ctx = ctx
        self._conn = conn
        self._pairing = pairing
        self._phone = phone
        self._pending: _Pending | None = None

    async def start(self, expires_at: float) -> None:
        """Sends companion_hello and publishes the code (call once refs have arrived)."""
        ctx = self._ctx
        credentials = ctx.require_credentials()
        code = crypto.new_code()
        ephemeral = CurveKeyPair.generate()
        wrapped = await asyncio.to_thread(crypto.wrap_ephemeral, code, ephemeral.public)
        answer = await self._conn.query(
            build_companion_hello(
                self._phone,
                wrapped,
                credentials.keys.noise.public,
                ctx.options.qr_platform_id,
                ctx.options.platform_display,
            )
        )
        self._pending = _Pending(code, ephemeral, parse_hello_answer(answer))
        shown = crypto.display_code(code)
        ctx.log.info("client.pair_code", phone=mask_phone(self._phone), expires_at=expires_at)
        ctx.publish(PairCode(ctx.session_id, shown, self._phone, expires_at))

    async def on_notification(self, node: Node) -> None:
        await self._conn.send(build_ack(node))
        # The finish iq waits for its answer, which the reader (running this handler) delivers.
        self._conn.spawn(self._finish(node))

    async def _finish(self, node: Node) -> None:
        ctx = self._ctx
        pending = self._pending
        hello = parse_primary_hello(node)
        if pending is None or hello.ref != pending.ref:
            ctx.log.warning("client.pair_code_unexpected", reason="no pending code for this ref")
            return
        credentials = ctx.require_credentials()
        identity = CurveKeyPair(
            private=credentials.keys.identity.private, public=credentials.keys.identity.public
        )
        try:
            finish = await asyncio.to_thread(
                crypto.companion_finish,
                pending.code,
                pending.ephemeral,
                identity,
                hello.wrapped_primary_ephemeral,
                hello.primary_identity_public,
            )
        except crypto.PairCodeError as exc:
            ctx.publish(Alert(ctx.session_id, AlertKind.PAIRING_FAILED, f"pair code: {exc}"))
            return
        # pair-success (checked with this secret) may arrive right after the finish answer.
        self._pairing.adv_secret = finish.adv_secret
        await self._conn.query(build_companion_finish(self._phone, finish, pending.ref))
        self._pending = None
