"""The compiled decoder and the pure-Python reader agree on every input.

Well-formed payloads give equal nodes (same value types: bytes stay bytes, JIDs stay JIDs);
malformed ones give the same DecodeError, message and offset included, because the compiled path
declines and the Python reader decides. The extension is built by ./scripts/setup (setup.py); a
machine without a C compiler decodes in pure Python, which is not what this suite runs on.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from test_binary_fuzz import ANY_NODE, CANONICAL, FUZZ

from daemon.binary import DecodeError, Node, marshal, unmarshal
from daemon.binary.decoder import ACCELERATED, unmarshal_pure

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "binary.json"


def outcome(decode: object, data: bytes) -> Node | tuple[str, int]:
    assert callable(decode)
    try:
        node = decode(data)
    except DecodeError as exc:
        return (str(exc), exc.position)
    assert isinstance(node, Node)
    return node


def assert_same(data: bytes) -> Node | tuple[str, int]:
    fast, pure = outcome(unmarshal, data), outcome(unmarshal_pure, data)
    assert fast == pure
    assert type(fast) is type(pure)
    return fast


def test_the_compiled_decoder_is_built() -> None:
    assert ACCELERATED, "daemon/binary/_speedups.c is not built: run ./scripts/setup"


def test_every_vector_decodes_alike() -> None:
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    decoded = 0
    for vector in doc["vectors"]:
        if not isinstance(vector.get("encoded"), str):
            continue
        result = assert_same(bytes.fromhex(vector["encoded"]))
        decoded += isinstance(result, Node)
    assert decoded >= 45


@FUZZ
@given(CANONICAL)
def test_canonical_nodes_decode_alike(node: Node) -> None:
    assert assert_same(marshal(node)) == node


@FUZZ
@given(ANY_NODE)
def test_any_nodes_decode_alike(node: Node) -> None:
    encoded = marshal(node)
    assert_same(encoded)
    assert_same(b"\x02" + zlib.compress(encoded[1:]))


@FUZZ
@given(ANY_NODE, st.data())
def test_damaged_payloads_fail_alike(node: Node, data: st.DataObject) -> None:
    encoded = bytearray(marshal(node))
    cut = data.draw(st.integers(0, len(encoded)))
    assert_same(bytes(encoded[:cut]))
    index = data.draw(st.integers(0, len(encoded) - 1))
    encoded[index] ^= data.draw(st.integers(1, 255))
    assert_same(bytes(encoded))
    assert_same(bytes(encoded) + data.draw(st.binary(min_size=1, max_size=4)))


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_fail_alike(data: bytes) -> None:
    assert_same(data)
    assert_same(b"\x00" + data)
