"""What the send path needs to know of an outgoing Message, found in one pass (pure).

A send asks the same message several questions — its stanza ``type``, the ``enc``'s
``mediatype`` and ``decrypt-fail``, the ``edit`` attribute, the columns its row stores — and
each question, asked on its own, walked the message's fields again with ``HasField`` (77 calls
per message). :func:`classify` lists the set fields once, looks through the wrappers once, and
answers all of them; every answer equals the one the single-question function gives.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.client.media_message import media_kind_of
from daemon.client.message_content import (
    Summary,
    edit_attribute_of,
    field_names,
    hides_decrypt_failure_of,
    stanza_type_of,
    summary_of,
    unwrap_fields,
)
from waproto import wa_e2e_pb2


@dataclass(frozen=True, slots=True)
class MessageKind:
    stanza_type: str
    """The ``message`` stanza's ``type``: text, media, reaction or poll (``stanza_type``)."""
    media_type: str | None
    """The ``enc`` ``mediatype`` (``stanza_media_type``)."""
    hides_decrypt_failure: bool
    """``decrypt-fail=hide`` on the ``enc`` (``hides_decrypt_failure``)."""
    edit: str | None
    """The ``edit`` attribute (``edit_attribute``)."""
    summary: Summary
    """What the message row stores (``summarize``)."""


def classify(message: wa_e2e_pb2.Message) -> MessageKind:
    fields = field_names(message)
    inner, inner_fields = unwrap_fields(message, fields)
    media = media_kind_of(inner, inner_fields)
    return MessageKind(
        stanza_type=stanza_type_of(inner_fields),
        media_type=None if media is None else media.value,
        hides_decrypt_failure=hides_decrypt_failure_of(message, fields),
        edit=edit_attribute_of(message, fields),
        summary=summary_of(inner, inner_fields),
    )
