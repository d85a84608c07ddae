"""bytes -> Node.

Value types follow Baileys' decoder: BINARY_8/20/32 content comes back as ``bytes``; token, packed
and JID content as ``str``; a LIST_EMPTY content byte as an empty child list. Attribute values are
``str``, or ``JID`` when the peer wrote a JID encoding. Raw strings (tags, keys, attribute values)
are decoded as UTF-8 with ``surrogateescape``, so bytes that are not UTF-8 survive a decode/encode
round trip unchanged instead of being replaced.

A tag or key written as a JID (Baileys' encoder does that to any string with an "@") comes back in
its string form. Stricter than Baileys, on purpose: trailing bytes after the node, a JID inside a
JID, a nibble outside the alphabet, an FB_JID / INTEROP_JID whose server is not ``msgr`` /
``interop``, a JID its fields cannot form, and nesting deeper than ``MAX_DEPTH`` are errors. Every
malformation raises ``DecodeError`` with the byte offset (of the value's tag byte where one is at
fault); nothing else escapes ``unmarshal``.

Single-byte tokens (most tags, keys and values) are read inline in ``_read_node``; everything else
goes through the ``_read_*`` helpers, which take the offset just past the tag byte and return the
value with the offset after it. Reading past the end raises IndexError from the byte indexing,
turned into one "unexpected end of data" error at the top.

When the optional compiled module ``daemon.binary._speedups`` was built, it reads well-formed
payloads into the same objects; on anything malformed it declines and this reader decides, so
errors (and their messages and offsets) come from one place. ``unmarshal_pure`` skips it, for the
tests and the benchmark that hold both paths to the same results.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Final, NoReturn, TypeVar

from daemon.binary.errors import DecodeError, JIDError
from daemon.binary.jid import AD_SERVER_BY_DOMAIN, JID, Server
from daemon.binary.limits import MAX_DEPTH, MAX_INFLATED_SIZE
from daemon.binary.node import AttrValue, Content, Node
from daemon.binary.packed import unpack
from daemon.binary.tags import (
    AD_JID,
    BINARY_8,
    BINARY_20,
    BINARY_32,
    DICTIONARY_0,
    DICTIONARY_3,
    FB_JID,
    FLAG_COMPRESSED,
    HEX_8,
    INTEROP_JID,
    JID_PAIR,
    LIST_8,
    LIST_16,
    LIST_EMPTY,
    NIBBLE_8,
)
from daemon.binary.tokens import DOUBLE_BYTE_TOKENS, SINGLE_BYTE_TOKENS

__all__ = ["ACCELERATED", "unmarshal", "unmarshal_pure"]

_SINGLE: Final = SINGLE_BYTE_TOKENS
_SINGLE_END: Final = len(SINGLE_BYTE_TOKENS)
_DOUBLE: Final = DOUBLE_BYTE_TOKENS
_PN: Final = Server.PN.value
_JID_TAGS: Final = frozenset({JID_PAIR, AD_JID, FB_JID, INTEROP_JID})
_LIST_TAGS: Final = frozenset({LIST_EMPTY, LIST_8, LIST_16})
_BINARY_TAGS: Final = frozenset({BINARY_8, BINARY_20, BINARY_32})
_PACKED_TAGS: Final = frozenset({NIBBLE_8, HEX_8})

# JIDs recur from stanza to stanza (the server, our own devices, contacts), so decoded JIDs are
# memoised by their encoded bytes: finding where one ends and looking it up is cheaper than
# unpacking its user and building (validating) a JID. Ids and timestamps rarely repeat, so plain
# strings are not memoised.
_MEMO_LIMIT: Final = 4096
_jid_memo: dict[bytes, JID] = {}
_T = TypeVar("_T")

# Decoded nodes are assembled through the slot descriptors: the frozen dataclass __init__ goes
# through object.__setattr__ per field and was a fifth of decoding time. Same object, same checks
# having been made by the reader.
_new_node = object.__new__
_set_tag = Node.__dict__["tag"].__set__
_set_attrs = Node.__dict__["attrs"].__set__
_set_content = Node.__dict__["content"].__set__


_FastDecode = Callable[[bytes, int], "tuple[Node, int] | None"]


def unmarshal(
    data: bytes | bytearray | memoryview, *, max_inflated: int = MAX_INFLATED_SIZE
) -> Node:
    """Decode a frame payload: the flag byte, then the node (zlib-deflated when flag & 2)."""
    return _unmarshal(data, max_inflated, _fast_decode)


def unmarshal_pure(
    data: bytes | bytearray | memoryview, *, max_inflated: int = MAX_INFLATED_SIZE
) -> Node:
    """``unmarshal`` without the compiled fast path."""
    return _unmarshal(data, max_inflated, None)


def _unmarshal(
    data: bytes | bytearray | memoryview, max_inflated: int, fast: _FastDecode | None
) -> Node:
    if type(data) is not bytes:
        data = bytes(data)
    if not data:
        raise DecodeError("empty frame: no flag byte", 0)
    if data[0] & FLAG_COMPRESSED:
        payload, start = _inflate(data, max_inflated), 0
    else:
        payload, start = data, 1
    if fast is not None:
        decoded = fast(payload, start)
        if decoded is not None and decoded[1] == len(payload):
            return decoded[0]
    try:
        node, end = _read_node(payload, start, 0)
    except IndexError:
        raise DecodeError("unexpected end of data", len(payload)) from None
    if end != len(payload):
        raise DecodeError(f"{len(payload) - end} trailing bytes after the node", end)
    return node


def _inflate(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(memoryview(data)[1:], limit + 1)
    except zlib.error as exc:
        raise DecodeError(f"compressed frame is not a valid zlib stream: {exc}", 1) from None
    if len(payload) > limit:
        raise DecodeError(f"compressed frame inflates beyond {limit} bytes", 1)
    if not inflater.eof:
        raise DecodeError("compressed frame ends inside the zlib stream", len(data))
    if inflater.unused_data:
        position = len(data) - len(inflater.unused_data)
        raise DecodeError("trailing bytes after the zlib stream", position)
    return payload


def _read_node(data: bytes, pos: int, depth: int) -> tuple[Node, int]:
    header = data[pos]
    if header == LIST_8:
        size = data[pos + 1]
        pos += 2
    elif header == LIST_16:
        size = data[pos + 1] << 8 | data[pos + 2]
        pos += 3
    else:
        raise DecodeError(f"expected a node (LIST_8/LIST_16), got tag byte {header}", pos)
    if size == 0:
        raise DecodeError("node with an empty list header", pos - 1)

    byte = data[pos]
    if 0 < byte < _SINGLE_END:
        tag = _SINGLE[byte]
        pos += 1
    else:
        start = pos
        tag, pos = _read_name(data, pos + 1, byte)
        if not tag:
            raise DecodeError("node with an empty tag", start)

    attrs: dict[str, AttrValue] = {}
    for _ in range((size - 1) >> 1):
        byte = data[pos]
        if 0 < byte < _SINGLE_END:
            key = _SINGLE[byte]
            pos += 1
        else:
            key, pos = _read_name(data, pos + 1, byte)
        byte = data[pos]
        if 0 < byte < _SINGLE_END:
            attrs[key] = _SINGLE[byte]
            pos += 1
        elif byte in _JID_TAGS:
            attrs[key], pos = _read_jid_memo(data, pos + 1, byte)
        else:
            attrs[key], pos = _read_text(data, pos + 1, byte)
    if size & 1:
        node = _new_node(Node)
        _set_tag(node, tag)
        _set_attrs(node, attrs)
        _set_content(node, None)
        return node, pos

    byte = data[pos]
    pos += 1
    content: Content
    if byte in _LIST_TAGS:
        if byte == LIST_8:
            count = data[pos]
            pos += 1
        elif byte == LIST_16:
            count = data[pos] << 8 | data[pos + 1]
            pos += 2
        else:
            count = 0
        if count and depth >= MAX_DEPTH:
            raise DecodeError(f"nodes nest deeper than {MAX_DEPTH} levels", pos)
        children = []
        for _ in range(count):
            child, pos = _read_node(data, pos, depth + 1)
            children.append(child)
        content = children
    elif byte == BINARY_8:
        end = pos + 1 + data[pos]
        if end > len(data):
            raise DecodeError(f"{end - pos - 1}-byte string runs past the end of the data", pos - 1)
        content = data[pos + 1 : end]
        pos = end
    elif byte in _BINARY_TAGS:
        content, pos = _read_bytes(data, pos, byte)
    elif byte in _JID_TAGS:
        jid, pos = _read_jid_memo(data, pos, byte)
        content = str(jid)
    else:
        content, pos = _read_text(data, pos, byte)
    node = _new_node(Node)
    _set_tag(node, tag)
    _set_attrs(node, attrs)
    _set_content(node, content)
    return node, pos


def _read_bytes(data: bytes, pos: int, tag: int) -> tuple[bytes, int]:
    start = pos - 1
    if tag == BINARY_8:
        length = data[pos]
        pos += 1
    elif tag == BINARY_20:
        length = (data[pos] & 0x0F) << 16 | data[pos + 1] << 8 | data[pos + 2]
        pos += 3
    else:
        if pos + 4 > len(data):
            raise IndexError
        length = int.from_bytes(data[pos : pos + 4], "big")
        pos += 4
    end = pos + length
    if end > len(data):
        raise DecodeError(f"{length}-byte string runs past the end of the data", start)
    return data[pos:end], end


def _read_name(data: bytes, pos: int, tag: int) -> tuple[str, int]:
    """A tag or attribute key: any string, a JID in its string form (Baileys writes those)."""
    if tag in _JID_TAGS:
        jid, pos = _read_jid_memo(data, pos, tag)
        return str(jid), pos
    return _read_text(data, pos, tag)


def _read_text(data: bytes, pos: int, tag: int) -> tuple[str, int]:
    """A string that is not a JID (tags, keys, JID parts)."""
    if tag in _PACKED_TAGS:
        head = data[pos]
        end = pos + 1 + (head & 0x7F)
        if end > len(data):
            raise DecodeError(f"{end - pos - 1}-byte packed string runs past the end", pos - 1)
        if head == 0x80:
            raise DecodeError("packed string of odd length with no bytes", pos - 1)
        text = unpack(tag, data[pos + 1 : end], head > 0x7F)
        if text is None:
            raise DecodeError("packed string holds a nibble outside 0-9 - .", pos - 1)
        return text, end
    if tag in _BINARY_TAGS:
        raw, pos = _read_bytes(data, pos, tag)
        return raw.decode("utf-8", "surrogateescape"), pos
    if 0 < tag < _SINGLE_END:
        return _SINGLE[tag], pos
    if DICTIONARY_0 <= tag <= DICTIONARY_3:
        return _DOUBLE[tag - DICTIONARY_0][data[pos]], pos + 1
    if tag == LIST_EMPTY:
        return "", pos
    _not_a_string(tag, pos - 1)


def _not_a_string(tag: int, position: int) -> NoReturn:
    if tag in _JID_TAGS:
        raise DecodeError(f"JID (tag byte {tag}) where a plain string is required", position)
    raise DecodeError(f"expected a string, got tag byte {tag}", position)


def _remember(memo: dict[bytes, _T], key: bytes, value: _T) -> None:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value


def _read_jid_memo(data: bytes, pos: int, tag: int) -> tuple[JID, int]:
    start = pos - 1
    if tag == JID_PAIR:
        end = _text_end(data, _text_end(data, pos))
    elif tag == AD_JID:
        end = _text_end(data, pos + 2)
    elif tag == FB_JID:
        end = _text_end(data, _text_end(data, pos) + 2)
    else:
        end = _text_end(data, _text_end(data, pos) + 4)
    key = data[start:end]
    jid = _jid_memo.get(key)
    if jid is None:
        jid, end = _read_jid(data, pos, tag)
        _remember(_jid_memo, data[start:end], jid)
    return jid, end


def _text_end(data: bytes, pos: int) -> int:
    """Where the string starting at ``pos`` ends, without decoding it."""
    tag = data[pos]
    if tag < DICTIONARY_0:
        return pos + 1
    if tag <= DICTIONARY_3:
        return pos + 2
    if tag in _PACKED_TAGS:
        return pos + 2 + (data[pos + 1] & 0x7F)
    if tag == BINARY_8:
        return pos + 2 + data[pos + 1]
    if tag == BINARY_20:
        return pos + 4 + ((data[pos + 1] & 0x0F) << 16 | data[pos + 2] << 8 | data[pos + 3])
    if tag == BINARY_32:
        return pos + 5 + int.from_bytes(data[pos + 1 : pos + 5], "big")
    _not_a_string(tag, pos)


def _read_jid(data: bytes, pos: int, tag: int) -> tuple[JID, int]:
    start = pos - 1
    agent = device = integrator = 0
    if tag == JID_PAIR:
        user, pos = _read_text(data, pos + 1, data[pos])
        server, pos = _read_text(data, pos + 1, data[pos])
    elif tag == AD_JID:
        domain, device = data[pos], data[pos + 1]
        user, pos = _read_text(data, pos + 3, data[pos + 2])
        server = AD_SERVER_BY_DOMAIN.get(domain, _PN)
        if server == _PN:
            agent = domain
    else:
        user, pos = _read_text(data, pos + 1, data[pos])
        device = data[pos] << 8 | data[pos + 1]
        pos += 2
        expected = Server.MESSENGER if tag == FB_JID else Server.INTEROP
        if tag == INTEROP_JID:
            integrator = data[pos] << 8 | data[pos + 1]
            pos += 2
        server, pos = _read_text(data, pos + 1, data[pos])
        if server != expected:
            raise DecodeError(f"JID tag {tag} with server {server!r}, expected {expected}", start)
    try:
        return JID(user, server, device, agent, integrator), pos
    except JIDError as exc:
        raise DecodeError(f"invalid JID: {exc}", start) from None


def _load_fast_path() -> _FastDecode | None:
    try:
        from daemon.binary import _speedups
    except ImportError:
        return None
    _speedups.configure(
        single=_SINGLE,
        double=_DOUBLE,
        node_type=Node,
        jid_memo=_jid_memo,
        read_jid=_read_jid_memo,
        max_depth=MAX_DEPTH,
    )
    return _speedups.decode


_fast_decode: Final = _load_fast_path()
ACCELERATED: Final = _fast_decode is not None
