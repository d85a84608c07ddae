"""Accounts that require a passkey to link a device (WhatsApp's passkey linking, 2026).

For such an account the server does not finish a QR scan or a pairing code with
``pair-success``: it sends the registering device a
``<notification type=passkey_prologue_request>`` with WebAuthn request options
(``<passkey_request_options>`` JSON; whatsmeow pair-passkey.go) and waits for an assertion the
sandbox never receives from a headless companion. The switch is per account and in memory
(``POST /admin/accounts/{phone}/passkey``).
"""

from __future__ import annotations

import base64
import json
import secrets

from daemon.binary import SERVER_JID, Node
from sandbox.stanzas import new_server_id

RP_ID = "whatsapp.com"


class PasskeyPolicy:
    def __init__(self) -> None:
        self._required: set[str] = set()

    def requires(self, phone_user: str) -> bool:
        return phone_user in self._required

    def set(self, phone_user: str, required: bool) -> None:
        if required:
            self._required.add(phone_user)
        else:
            self._required.discard(phone_user)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def passkey_request(now: int) -> Node:
    options = {
        "challenge": _b64url(secrets.token_bytes(32)),
        "timeout": 300000,
        "rpId": RP_ID,
        "allowCredentials": [{"type": "public-key", "id": _b64url(secrets.token_bytes(16))}],
        "userVerification": "required",
    }
    return Node(
        "notification",
        {
            "from": SERVER_JID,
            "type": "passkey_prologue_request",
            "id": new_server_id(),
            "t": str(now),
        },
        [Node("passkey_request_options", {}, json.dumps(options).encode())],
    )
