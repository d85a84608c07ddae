"""Passkey linking (2026): the service can demand a passkey before it links a new device.

After the phone scanned our QR (or confirmed our code), an account with passkey linking gets a
``<notification type=passkey_prologue_request>`` instead of ``pair-success``; its
``<passkey_request_options>`` holds WebAuthn request options as JSON (whatsmeow
pair-passkey.go, b572e5bc). A browser would now ask an authenticator for an assertion and send
it back (``iq md > passkey_prologue``), then exchange ephemeral keys with the phone
(``crsc_continuation``, ``companion_nonce``, ``encrypted_pairing_request``).

wamd is a headless companion: it holds no passkey and has no authenticator to ask. It goes as far
as a companion can without one — it acks the request, reads which relying party and credentials
the service wants — and then stops pairing in the ``passkey_required`` state with an alert that
tells a person what to do on the phone. Nothing stalls silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from daemon.binary import Node

NOTIFICATION_TYPE = "passkey_prologue_request"
CONTINUATION_TYPE = "crsc_continuation"

ADVICE = (
    "WhatsApp requires a passkey to link a new device to this account, and wamd (a headless "
    "linked device) cannot present one. On the phone, open Settings > Account > Passkeys and "
    "remove the passkey (or link from a browser that holds it), then pair this session again."
)


@dataclass(frozen=True, slots=True)
class PasskeyRequest:
    rp_id: str
    """The WebAuthn relying party the passkey belongs to."""
    credentials: int
    """How many credentials the service would accept."""
    readable: bool
    """False when the options were missing or not JSON (the request stands all the same)."""


def parse_passkey_request(node: Node) -> PasskeyRequest:
    options = node.child("passkey_request_options")
    body = options.content if options is not None else None
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, bytes):
        return PasskeyRequest("", 0, False)
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return PasskeyRequest("", 0, False)
    if not isinstance(parsed, dict):
        return PasskeyRequest("", 0, False)
    allowed = parsed.get("allowCredentials")
    rp_id = parsed.get("rpId")
    return PasskeyRequest(
        rp_id=rp_id if isinstance(rp_id, str) else "",
        credentials=len(allowed) if isinstance(allowed, list) else 0,
        readable=True,
    )


def describe(request: PasskeyRequest) -> str:
    where = f" (relying party {request.rp_id})" if request.rp_id else ""
    return f"the service asked for a passkey{where}: {ADVICE}"
