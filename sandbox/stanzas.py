"""Builders for the stanzas the server itself writes (pure: nodes in, nodes out).

Every server stanza says ``from="@s.whatsapp.net"`` as a JID (a JID_PAIR with an empty user):
whatsmeow compares ``from`` against a JID value and would not match a plain string.
"""

from __future__ import annotations

import enum
import itertools
import secrets

from daemon.binary import JID, SERVER_JID, Node

__all__ = [
    "StreamErrorCode",
    "ack",
    "device_removed",
    "failure",
    "iq_error",
    "iq_result",
    "new_server_id",
    "replaced",
    "stream_error",
]

_counter = itertools.count(1)
_PREFIX = f"{secrets.randbelow(65536)}.{secrets.randbelow(65536)}"


def new_server_id() -> str:
    """An id for a server-initiated iq or notification, in WhatsApp's ``n.n-n`` shape."""
    return f"{_PREFIX}-{next(_counter)}"


class StreamErrorCode(enum.IntEnum):
    """``stream:error code`` values clients act on (protocol-inventory §12.2)."""

    LOGGED_OUT = 401
    REPLACED = 440
    INTERNAL = 500
    UNAVAILABLE = 503
    RESTART_REQUIRED = 515


def iq_result(request: Node, content: list[Node] | None = None) -> Node:
    """The answer to an iq: same id, ``type=result``, from the server."""
    return Node(
        "iq",
        {"from": _answer_from(request), "type": "result", "id": request.attr_str("id") or ""},
        content,
    )


def iq_error(request: Node, code: int, text: str) -> Node:
    return Node(
        "iq",
        {"from": _answer_from(request), "type": "error", "id": request.attr_str("id") or ""},
        [Node("error", {"code": str(code), "text": text})],
    )


def _answer_from(request: Node) -> JID:
    # Group iqs are answered from the group they addressed; everything else from the server.
    to = request.attrs.get("to")
    if isinstance(to, JID) and to.server == "g.us":
        return to
    return SERVER_JID


def ack(
    stanza: Node, *, sender: JID | None = None, t: int | None = None, error: int | None = None
) -> Node:
    """The server's ack of a client stanza (``class`` = the stanza's tag). ``sender`` is the
    chat the stanza went to (Baileys takes a failed message's chat from the ack's ``from``)."""
    attrs: dict[str, str | JID] = {"class": stanza.tag, "id": stanza.attr_str("id") or ""}
    if stanza.tag != "message" and (kind := stanza.attr_str("type")) is not None:
        attrs["type"] = kind
    attrs["from"] = sender if sender is not None else SERVER_JID
    if t is not None:
        attrs["t"] = str(t)
    if error is not None:
        attrs["error"] = str(error)
    return Node("ack", attrs)


def stream_error(code: int) -> Node:
    """``stream:error code=N``; 440 and a removed device have their own forms below."""
    if code == StreamErrorCode.REPLACED:
        return replaced()
    return Node("stream:error", {"code": str(code)})


def replaced() -> Node:
    """Another connection took over: the real server sends the conflict without a code
    (Baileys maps the ``conflict`` child to 440; whatsmeow looks at the type)."""
    return Node("stream:error", {}, [Node("conflict", {"type": "replaced"})])


def device_removed() -> Node:
    """The device was logged out from the phone: whatsmeow needs code 401 with this child."""
    return Node(
        "stream:error",
        {"code": str(int(StreamErrorCode.LOGGED_OUT))},
        [Node("conflict", {"type": "device_removed"})],
    )


def failure(reason: int, location: str = "sandbox") -> Node:
    return Node("failure", {"reason": str(reason), "location": location})
