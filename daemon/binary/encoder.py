"""Node -> bytes, reproducing Baileys' ``encodeBinaryNode`` byte for byte.

How a string is written (Baileys' ``writeString`` order): ``""`` as BINARY_8 of length 0; a
dictionary token as its one or two bytes; all of ``0-9 - .`` (at most 127 characters) as
NIBBLE_8; all of ``0-9 A-F`` (at most 127) as HEX_8; a string that parses as a JID (``JID.parse``)
as that JID; anything else as raw UTF-8 in BINARY_8/20/32.

JIDs. A ``JID`` value is written by whatsmeow's rule: AD_JID for a PN or LID JID with a device (or
agent) and for every hosted / hosted.lid JID, FB_JID on ``msgr``, INTEROP_JID on ``interop``,
JID_PAIR otherwise (an empty user as LIST_EMPTY). A JID-looking ``str`` is written by Baileys' rule
instead, so text built the Baileys way gives Baileys' bytes: on the four AD_JID servers it is an
AD_JID exactly when the text spells a device (``user:0@s.whatsapp.net`` included) or an agent. The
two rules differ only for ``user:0@s.whatsapp.net`` / ``user:0@lid`` (text: AD_JID device 0; JID:
JID_PAIR) and ``user@hosted`` (text: JID_PAIR; JID: AD_JID). Text that does not parse as a JID
(``a@b@c``, ``user:1@g.us``) is written as a raw string, where Baileys would emit a malformed JID.

Attribute values must be ``str`` or ``JID``; every attribute is written, ``""`` included (Baileys
skips only undefined/null, which our Node has no room for).

JIDs (typed, or as text) recur from stanza to stanza, so their encodings are memoised in a bounded
table that also holds the dictionary tokens; a hit costs one dict lookup. Other strings (ids,
timestamps, names) rarely repeat and are encoded afresh each time.
"""

from __future__ import annotations

from typing import Final

from daemon.binary.errors import EncodeError, JIDError
from daemon.binary.jid import JID, Server
from daemon.binary.limits import MAX_BINARY_LENGTH, MAX_DEPTH
from daemon.binary.node import Node
from daemon.binary.packed import pack, packable_as
from daemon.binary.tags import (
    AD_JID,
    BINARY_8,
    BINARY_20,
    BINARY_32,
    DICTIONARY_0,
    FB_JID,
    FLAG_NONE,
    INTEROP_JID,
    JID_PAIR,
    LIST_8,
    LIST_16,
    LIST_EMPTY,
)
from daemon.binary.tokens import DOUBLE_BYTE_TOKENS, SINGLE_BYTE_TOKENS

__all__ = ["marshal"]


def _token_encodings() -> dict[str | JID, bytes]:
    table: dict[str | JID, bytes] = {
        text: bytes((index,)) for index, text in enumerate(SINGLE_BYTE_TOKENS) if index
    }
    for dictionary, texts in enumerate(DOUBLE_BYTE_TOKENS):
        for index, text in enumerate(texts):
            table[text] = bytes((DICTIONARY_0 + dictionary, index))
    return table


_TOKENS: Final = _token_encodings()
_HOSTED: Final = frozenset({Server.HOSTED.value, Server.HOSTED_LID.value})
_EMPTY_STRING: Final = bytes((BINARY_8, 0))
_EMPTY_USER: Final = bytes((LIST_EMPTY,))

_MEMO_LIMIT: Final = 4096
_memo: dict[str | JID, bytes] = dict(_TOKENS)
# Cleared and refilled in place (``_remember``), so the bound method stays valid.
_memo_get: Final = _memo.get

# Headers of the lists and byte strings short enough for one length byte, made once.
_LIST_8_HEADERS: Final = tuple(bytes((LIST_8, size)) for size in range(256))
_BINARY_8_HEADERS: Final = tuple(bytes((BINARY_8, length)) for length in range(256))


def marshal(node: Node) -> bytes:
    """The frame payload for ``node``: flag byte 0x00 (uncompressed), then the node."""
    out = bytearray((FLAG_NONE,))
    try:
        _write_node(node, out, 0)
    except UnicodeEncodeError as exc:
        raise EncodeError(f"string is not encodable as UTF-8: {exc.reason}") from None
    return bytes(out)


def _write_node(node: Node, out: bytearray, depth: int) -> None:
    if type(node) is not Node:
        raise EncodeError(f"expected a Node, got {type(node).__name__}")
    tag, attrs, content = node.tag, node.attrs, node.content
    if not isinstance(tag, str) or not tag:
        raise EncodeError(f"node tag must be a non-empty str, got {tag!r}")
    memo_get = _memo_get
    size = 2 * len(attrs) + (1 if content is None else 2)
    if size < 256:  # never 0: the tag is always there
        out += _LIST_8_HEADERS[size]
    else:
        _write_list_start(out, size)
    out += memo_get(tag) or _string(tag)
    for key, value in attrs.items():
        if not isinstance(key, str):
            raise EncodeError(f"<{tag}> attribute key must be str, got {key!r}")
        out += memo_get(key) or _string(key)
        if type(value) is str:
            out += memo_get(value) or _string(value)
        elif type(value) is JID:
            out += memo_get(value) or _jid(value)
        elif isinstance(value, str):
            out += _string(str(value))
        else:
            raise EncodeError(f"<{tag}> attribute {key!r} must be str or JID, got {value!r}")
    if content is None:
        return
    if type(content) is list or isinstance(content, list | tuple):
        if depth >= MAX_DEPTH:
            raise EncodeError(f"nodes nest deeper than {MAX_DEPTH} levels")
        count = len(content)
        if 0 < count < 256:
            out += _LIST_8_HEADERS[count]
        else:
            _write_list_start(out, count)
        for child in content:
            _write_node(child, out, depth + 1)
    elif isinstance(content, bytes | bytearray | memoryview):
        data = content if type(content) is bytes else bytes(content)
        length = len(data)
        if length < 256:
            out += _BINARY_8_HEADERS[length]
        else:
            out += _byte_length(length)
        out += data
    elif isinstance(content, str):
        out += memo_get(content) or _string(content)
    else:
        raise EncodeError(f"<{tag}> content must be None, bytes, str or a list of Nodes")


def _write_list_start(out: bytearray, size: int) -> None:
    if size == 0:
        out.append(LIST_EMPTY)
    elif size < 256:
        out.append(LIST_8)
        out.append(size)
    elif size <= 0xFFFF:
        out.append(LIST_16)
        out += size.to_bytes(2, "big")
    else:
        raise EncodeError(f"list of {size} items does not fit LIST_16")


def _byte_length(length: int) -> bytes:
    if length < 256:
        return bytes((BINARY_8, length))
    if length < 1 << 20:
        return bytes((BINARY_20, length >> 16, (length >> 8) & 0xFF, length & 0xFF))
    if length <= MAX_BINARY_LENGTH:
        return bytes((BINARY_32,)) + length.to_bytes(4, "big")
    raise EncodeError(f"{length} bytes do not fit BINARY_32")


def _remember(key: str | JID, encoded: bytes) -> bytes:
    if len(_memo) >= _MEMO_LIMIT:
        _memo.clear()
        _memo.update(_TOKENS)
    _memo[key] = encoded
    return encoded


def _string(text: str) -> bytes:
    """How ``text`` is written (callers try the memo first, so this mostly runs on a miss)."""
    token = _TOKENS.get(text)
    if token is not None:
        return token
    if not text:
        return _EMPTY_STRING
    packing = packable_as(text)
    if packing is not None:
        return pack(packing, text)
    if "@" in text:
        encoded = _memo.get(text)
        if encoded is not None:
            return encoded
        try:
            jid = JID.parse(text)
        except JIDError:
            pass
        else:
            spells_device = ":" in text.partition("@")[0]
            return _remember(text, _encode_jid(jid, as_ad=spells_device or jid.agent > 0))
    raw = text.encode("utf-8", "surrogateescape")
    return _byte_length(len(raw)) + raw


def _jid(jid: JID) -> bytes:
    encoded = _memo.get(jid)
    if encoded is None:
        as_ad = bool(jid.device or jid.agent) or jid.server in _HOSTED
        encoded = _remember(jid, _encode_jid(jid, as_ad))
    return encoded


def _encode_jid(jid: JID, as_ad: bool) -> bytes:
    """``as_ad`` asks for AD_JID; it applies only on the servers AD_JID can name."""
    server = jid.server
    domain = jid.ad_domain
    if as_ad and domain is not None:
        return bytes((AD_JID, domain, jid.device)) + _string(jid.user)
    if server == Server.MESSENGER:
        return b"".join(
            (bytes((FB_JID,)), _string(jid.user), jid.device.to_bytes(2, "big"), _string(server))
        )
    if server == Server.INTEROP:
        return b"".join(
            (
                bytes((INTEROP_JID,)),
                _string(jid.user),
                jid.device.to_bytes(2, "big"),
                jid.integrator.to_bytes(2, "big"),
                _string(server),
            )
        )
    user = _string(jid.user) if jid.user else _EMPTY_USER
    return bytes((JID_PAIR,)) + user + _string(server)
