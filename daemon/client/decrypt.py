"""Decrypting the ``enc`` parts of one incoming message (protocol-inventory §5, §6.2).

Pairwise parts (``pkmsg``/``msg``) go first: they may carry the sender key distribution the
group part (``skmsg``) needs. Each plaintext is unpadded and parsed as a ``Message``; a sender
key distribution inside is processed right away. All Signal writes go to the caller's
:class:`~daemon.client.signal_stage.StagedSignalStore`, committed with the message or not at all.

Outcomes: OK (with the content, or none for a message that only carried a sender key);
DUPLICATE when every part was already decrypted (an "old counter": a redelivery, never a
failure, never a retry receipt); FAILED with the error otherwise (parts that did decrypt stay
staged: their ratchet steps are real and must be kept).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from google.protobuf.message import DecodeError as ProtoDecodeError

from daemon.client.incoming import IncomingMessage
from daemon.client.message_content import has_content
from daemon.client.signal_stage import StagedSignalStore
from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.cipher import GroupCipher, SessionCipher
from daemon.signal.errors import (
    CorruptRecordError,
    DuplicateMessageError,
    InvalidMessageError,
    MissingPreKeyError,
    NoSenderKeyError,
    NoSessionError,
    SignalError,
)
from daemon.signal.padding import unpad
from daemon.signal.session import EncType
from waproto import wa_e2e_pb2


class Outcome(enum.Enum):
    OK = "ok"
    DUPLICATE = "duplicate"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DecryptResult:
    outcome: Outcome
    content: wa_e2e_pb2.Message | None = None
    error: Exception | None = None

    @property
    def lacks_session(self) -> bool:
        """The failure means we hold no usable session or sender key at all: the retry
        receipt should carry our keys at once."""
        return isinstance(
            self.error, NoSessionError | MissingPreKeyError | NoSenderKeyError | CorruptRecordError
        )


async def decrypt_message(
    incoming: IncomingMessage,
    store: StagedSignalStore,
    address: ProtocolAddress,
    sender_key: SenderKeyName | None,
) -> DecryptResult:
    """``sender_key`` names the sender's key for this group (None outside groups)."""
    sessions = SessionCipher(store)
    groups = GroupCipher(store)
    content: wa_e2e_pb2.Message | None = None
    duplicates = 0
    for part in sorted(incoming.encs, key=lambda p: p.kind is EncType.SKMSG):
        try:
            if part.kind is EncType.SKMSG:
                if sender_key is None:
                    raise InvalidMessageError("a group message part outside a group")
                plaintext = (await groups.decrypt(sender_key, part.ciphertext)).plaintext
            else:
                plaintext = (await sessions.decrypt(address, part.kind, part.ciphertext)).plaintext
            message = wa_e2e_pb2.Message.FromString(unpad(plaintext))
            if message.HasField("senderKeyDistributionMessage") and sender_key is not None:
                distribution = message.senderKeyDistributionMessage
                await groups.process_distribution(
                    sender_key, distribution.axolotlSenderKeyDistributionMessage
                )
        except DuplicateMessageError:
            duplicates += 1
            continue
        except (SignalError, ProtoDecodeError) as exc:
            return DecryptResult(Outcome.FAILED, content, exc)
        if has_content(message):
            content = message
    if content is None and duplicates:
        return DecryptResult(Outcome.DUPLICATE)
    if not incoming.encs:
        return DecryptResult(Outcome.FAILED, error=InvalidMessageError("no enc part"))
    return DecryptResult(Outcome.OK, content)
