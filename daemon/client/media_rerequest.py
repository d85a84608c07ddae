"""Media retry: asking our phone to upload a file again once the media host forgot it.

Request (protocol-inventory §6.4): ``receipt(id=<message id>, to=<own PN>, type=server-error) >
[encrypt > [enc_p, enc_iv], rmr(jid=<chat>, from_me, participant?)]``, ``enc_p`` sealing a
``ServerErrorReceipt`` with the message's media key (``daemon.crypto.media_retry``). The phone
answers ``notification(type=mediaretry, id=<message id>) > [rmr, encrypt > [enc_p, enc_iv]]``
with a sealed ``MediaRetryNotification`` (SUCCESS carries the new direct path), or ``> [rmr,
error(code)]`` when it cannot. whatsmeow takes the message id from the notification's ``id``.

:class:`MediaRetries` pairs answers with the requests waiting for them; an answer nobody waits
for (a request from before a restart) is dropped after its ack.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.binary import JID, Node
from daemon.client.receipts import ReceiptType
from daemon.crypto.media_retry import (
    MediaRetryError,
    MediaRetryNotice,
    MediaRetryResult,
    SealedRetry,
    open_retry_notice,
    seal_retry_request,
)

# The notification's error code whatsmeow reads as "the phone does not have the media".
ERROR_NOT_ON_PHONE = 2


@dataclass(frozen=True, slots=True)
class RetryTarget:
    """The message whose file is asked for again."""

    message_id: str
    chat: JID
    from_me: bool
    sender: JID | None
    """The author in a group (``rmr participant``)."""
    media_key: bytes


@dataclass(frozen=True, slots=True)
class RetryAnswer:
    """The phone's answer: a notice (opened), or an error code."""

    message_id: str
    sealed: SealedRetry | None
    error_code: int | None


def build_retry_receipt(
    target: RetryTarget, own_pn: JID, sealed: SealedRetry | None = None
) -> Node:
    sealed = (
        sealed if sealed is not None else seal_retry_request(target.message_id, target.media_key)
    )
    rmr: dict[str, str | JID] = {
        "jid": target.chat,
        "from_me": "true" if target.from_me else "false",
    }
    if target.chat.is_group and target.sender is not None and not target.from_me:
        rmr["participant"] = target.sender
    return Node(
        "receipt",
        {"id": target.message_id, "to": own_pn.to_non_ad(), "type": ReceiptType.SERVER_ERROR.value},
        [
            Node(
                "encrypt",
                {},
                [Node("enc_p", {}, sealed.ciphertext), Node("enc_iv", {}, sealed.iv)],
            ),
            Node("rmr", rmr),
        ],
    )


def parse_retry_notification(node: Node) -> RetryAnswer | None:
    """None when the notification is not a readable media retry answer."""
    message_id = node.attr_str("id")
    if not message_id:
        return None
    error = node.child("error")
    if error is not None:
        try:
            code = error.attr_int("code")
        except ValueError:
            code = None
        return RetryAnswer(message_id, None, code if code is not None else 0)
    encrypt = node.child("encrypt")
    if encrypt is None:
        return None
    ciphertext = (encrypt.child("enc_p") or Node("x")).content_bytes()
    iv = (encrypt.child("enc_iv") or Node("x")).content_bytes()
    if not ciphertext or not iv:
        return None
    return RetryAnswer(message_id, SealedRetry(ciphertext=ciphertext, iv=iv), None)


def open_answer(answer: RetryAnswer, media_key: bytes) -> MediaRetryNotice:
    """The phone's notice; an error answer becomes a NOT_FOUND / GENERAL_ERROR notice.
    Raises MediaRetryError when the sealed notice does not open with the media key."""
    if answer.sealed is None:
        result = (
            MediaRetryResult.NOT_FOUND
            if answer.error_code == ERROR_NOT_ON_PHONE
            else MediaRetryResult.GENERAL_ERROR
        )
        return MediaRetryNotice(answer.message_id, result)
    return open_retry_notice(answer.sealed, answer.message_id, media_key)


__all__ = [
    "MediaRetryError",
    "RetryAnswer",
    "RetryTarget",
    "build_retry_receipt",
    "open_answer",
    "parse_retry_notification",
]
