"""The daemon's adapters: the admin key, outbox requests as client content, and how the
client's send errors become outbox decisions."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from daemon.client.errors import IqTimeout, NotConnected
from daemon.client.message_content import Edit, Reaction, Reply, Revoke, Text
from daemon.client.messaging_errors import (
    NoRecipientDevices,
    SendRefused,
    SendTimeout,
    TargetNotFound,
)
from daemon.client.send import OutgoingMessage, SendResult
from daemon.config import Config, ConfigError, HttpConfig
from daemon.outbox import (
    PermanentSendError,
    QueuedMessage,
    RestrictedError,
    SendFailed,
    TransientSendError,
    parse_send_request,
)
from daemon.service import ADMIN_KEY_FILE, ClientSender, admin_key, content_of
from daemon.wire.errors import TransportClosed, TransportTimeout


def test_the_admin_key_is_configured_or_generated_once(tmp_path: Path) -> None:
    configured = Config(http=HttpConfig(api_key="k" * 20))
    assert admin_key(configured, tmp_path) == "k" * 20
    with pytest.raises(ConfigError, match="at least 16"):
        admin_key(Config(http=HttpConfig(api_key="short")), tmp_path)
    generated = admin_key(Config(), tmp_path)
    assert len(generated) > 40
    path = tmp_path / ADMIN_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert admin_key(Config(), tmp_path) == generated


def test_requests_become_client_content() -> None:
    to = "15550001111"
    assert content_of(parse_send_request({"to": to, "text": "hi"})) == Text("hi")
    reply = parse_send_request({"to": to, "type": "reply", "text": "a", "quotedId": "Q"})
    assert content_of(reply) == Reply("a", "Q")
    reaction = parse_send_request({"to": to, "type": "reaction", "messageId": "M", "emoji": ""})
    assert content_of(reaction) == Reaction("M", "")
    edit = parse_send_request({"to": to, "type": "edit", "messageId": "M", "text": "b"})
    assert content_of(edit) == Edit("M", "b")
    assert content_of(parse_send_request({"to": to, "type": "delete", "messageId": "M"})) == (
        Revoke("M")
    )


@dataclass
class ScriptedClient:
    error: Exception | None = None
    sent: list[OutgoingMessage] | None = None

    async def send(self, message: OutgoingMessage) -> SendResult:
        if self.error is not None:
            raise self.error
        self.sent = [*(self.sent or []), message]
        return SendResult(message.message_id or "", str(message.to), 1_700_000_000, 2)


@dataclass
class ManagerStub:
    client_: Any

    def client(self, session_id: str) -> Any:
        return self.client_

    def is_connected(self, session_id: str) -> bool:
        return True


QUEUED = QueuedMessage("3EB0AAAA", "s1", parse_send_request({"to": "15550001111", "text": "x"}))


async def test_a_send_keeps_its_outbox_id() -> None:
    client = ScriptedClient()
    sender = ClientSender(ManagerStub(client))  # type: ignore[arg-type]
    ack = await sender.send(QUEUED)
    assert ack.server_timestamp == 1_700_000_000
    assert client.sent is not None and client.sent[0].message_id == "3EB0AAAA"
    assert str(client.sent[0].to) == "15550001111@s.whatsapp.net"


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (NotConnected("not connected"), TransientSendError),
        (SendTimeout("3EB0AAAA", "no ack"), TransientSendError),
        (IqTimeout("usync timed out"), TransientSendError),
        (TransportClosed("websocket closed while sending"), TransientSendError),
        (TransportTimeout("send timed out after 20 s"), TransientSendError),
        (ConnectionResetError("connection ended"), TransientSendError),
        # 463 is about one contact (no privacy token): that message fails, nothing pauses.
        (SendRefused("3EB0AAAA", 463), PermanentSendError),
        (SendRefused("3EB0AAAA", 429), RestrictedError),
        (SendRefused("3EB0AAAA", 500), TransientSendError),
        (SendRefused("3EB0AAAA", 479), PermanentSendError),
        (NoRecipientDevices("3EB0AAAA", "not on WhatsApp"), PermanentSendError),
        (TargetNotFound("no such message"), PermanentSendError),
    ],
)
async def test_client_errors_become_outbox_decisions(
    error: Exception, outcome: type[SendFailed]
) -> None:
    sender = ClientSender(ManagerStub(ScriptedClient(error)))  # type: ignore[arg-type]
    with pytest.raises(outcome):
        await sender.send(QUEUED)
