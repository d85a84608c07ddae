"""LTHash: whatsapp-rust-bridge's numbers (Baileys), lane arithmetic against a plain model, and
the algebra app-state sync relies on."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.crypto import lthash
from daemon.crypto.hkdf import hkdf_sha256

VECTOR: dict[str, Any] = json.loads(
    (Path(__file__).parent / "baileys_crypto_vectors.json").read_text()
)["lthash"]
MACS = [bytes.fromhex(m) for m in VECTOR["macs"]]

states = st.binary(min_size=128, max_size=128)
items = st.lists(st.binary(min_size=1, max_size=40), max_size=6)


def _lanewise(a: bytes, b: bytes, sign: int) -> bytes:
    x, y = struct.unpack("<64H", a), struct.unpack("<64H", b)
    return struct.pack("<64H", *((p + sign * q) & 0xFFFF for p, q in zip(x, y, strict=True)))


def test_matches_baileys_lthash() -> None:
    first = lthash.subtract_then_add(lthash.EMPTY, [], MACS[:2])
    assert first.hex() == VECTOR["add_1_2_from_zero"]
    second = lthash.subtract_then_add(first, [MACS[0]], [MACS[2]])
    assert second.hex() == VECTOR["then_sub_1_add_3"]


def test_expansion_is_hkdf_with_patch_integrity_info() -> None:
    assert lthash.expand(MACS[0]) == hkdf_sha256(MACS[0], b"WhatsApp Patch Integrity", 128)
    assert lthash.subtract_then_add(lthash.EMPTY, [], [MACS[0]]) == lthash.expand(MACS[0])


@settings(max_examples=300)
@given(a=states, b=states)
def test_lane_arithmetic_equals_uint16_model(a: bytes, b: bytes) -> None:
    assert lthash.add_lanes(a, b) == _lanewise(a, b, 1)
    assert lthash.subtract_lanes(a, b) == _lanewise(a, b, -1)


def test_lane_edges_wrap_without_touching_neighbours() -> None:
    ones = b"\xff\xff" * 64
    one = b"\x01\x00" * 64
    assert lthash.add_lanes(ones, one) == bytes(128)
    assert lthash.subtract_lanes(bytes(128), one) == ones
    top = b"\x00\x80" * 64
    assert lthash.add_lanes(top, top) == bytes(128)
    assert lthash.subtract_lanes(top, ones) == b"\x01\x80" * 64


@settings(max_examples=50, deadline=None)
@given(base=states, added=items)
def test_add_then_subtract_is_identity(base: bytes, added: list[bytes]) -> None:
    with_items = lthash.subtract_then_add(base, [], added)
    assert lthash.subtract_then_add(with_items, added, []) == base


@settings(max_examples=50, deadline=None)
@given(base=states, added=items, data=st.data())
def test_order_does_not_matter(base: bytes, added: list[bytes], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(added))
    one_by_one = base
    for item in shuffled:
        one_by_one = lthash.subtract_then_add(one_by_one, [], [item])
    assert one_by_one == lthash.subtract_then_add(base, [], added)


def test_wrong_state_size_is_refused() -> None:
    with pytest.raises(lthash.LTHashError):
        lthash.subtract_then_add(bytes(127), [], [MACS[0]])
    with pytest.raises(lthash.LTHashError):
        lthash.add_lanes(bytes(128), bytes(129))
