"""unmarshal: value types, compressed frames, and where malformed input is reported."""

from __future__ import annotations

import zlib

import pytest

from daemon.binary import JID, DecodeError, Node, marshal, unmarshal
from daemon.binary.limits import MAX_DEPTH


def frame(hex_body: str) -> bytes:
    return bytes.fromhex("00" + hex_body)


def attr(hex_value: str) -> str | JID:
    """Decode ``hex_value`` as the value of attribute t on <iq>."""
    return unmarshal(frame("f803191a" + hex_value)).attrs["t"]


# Value types --------------------------------------------------------------------------------


def test_binary_content_is_bytes_even_when_it_was_text() -> None:
    assert unmarshal(marshal(Node("body", {}, "hello"))).content == b"hello"


@pytest.mark.parametrize(
    ("hex_content", "text"),
    [("38", "text"), ("ec22", "4"), ("ff021234", "1234"), ("fb83abcdef", "ABCDE")],
)
def test_token_and_packed_content_is_text(hex_content: str, text: str) -> None:
    assert unmarshal(frame("f8026c" + hex_content)).content == text


def test_jid_content_is_text() -> None:
    assert unmarshal(frame("f8026cf70107ff88123456789012345f")).content == "123456789012345:7@lid"


def test_list_empty_content_is_an_empty_child_list() -> None:
    assert unmarshal(frame("f8027100")) == Node("list", {}, [])


@pytest.mark.parametrize(
    ("hex_value", "value"),
    [
        ("fa0003", JID("", "s.whatsapp.net")),
        ("faff8615551234567f03", JID("15551234567", "s.whatsapp.net")),
        ("f7000cff8615551234567f", JID("15551234567", "s.whatsapp.net", 12)),
        ("f70000ff8615551234567f", JID("15551234567", "s.whatsapp.net")),
        ("f70203ff8615551234567f", JID("15551234567", "s.whatsapp.net", 3, agent=2)),
        ("f70107ff88123456789012345f", JID("123456789012345", "lid", 7)),
        ("f78063ff8615551234567f", JID("15551234567", "hosted", 99)),
        ("f78163ff88123456789012345f", JID("123456789012345", "hosted.lid", 99)),
        ("f6ff85100012345f0004cc", JID("100012345", "msgr", 4)),
        ("f5ff845551234f00010003fc07696e7465726f70", JID("5551234", "interop", 1, integrator=3)),
        ("fa0b0d", JID("status", "broadcast")),
    ],
)
def test_jid_attribute_values_are_jids(hex_value: str, value: JID) -> None:
    assert attr(hex_value) == value


def test_attribute_text_values() -> None:
    assert attr("fc00") == ""
    assert attr("00") == ""
    assert attr("fc0568656c6c6f") == "hello"
    assert attr("ff8412b34a5f") == "12.34-5"


def test_non_utf8_text_survives_a_round_trip() -> None:
    encoded = frame("f803191afc03ff00c3")
    value = attr("fc03ff00c3")
    assert isinstance(value, str)
    assert marshal(unmarshal(encoded)) == encoded


def test_jid_tags_and_keys_come_back_as_text() -> None:
    # Baileys writes any string with an "@" as a JID, tags and keys included.
    encoded = marshal(Node("1555@lid", {"1555:2@lid": "v"}))
    assert encoded[3] == 0xFA
    assert unmarshal(encoded) == Node("1555@lid", {"1555:2@lid": "v"})


def test_list16_children() -> None:
    node = Node("list", {}, [Node("item", {"id": str(i)}) for i in range(300)])
    encoded = marshal(node)
    assert encoded[4] == 0xF9
    assert unmarshal(encoded) == Node(
        "list", {}, [Node("item", {"id": str(i)}) for i in range(300)]
    )


@pytest.mark.parametrize("length", [255, 256, (1 << 20) - 1, 1 << 20])
def test_binary_length_boundaries(length: int) -> None:
    payload = bytes(range(256)) * (length // 256) + bytes(length % 256)
    assert unmarshal(marshal(Node("value", {}, payload))).content == payload


def test_binary20_ignores_the_top_nibble_of_its_length() -> None:
    # Both reference decoders mask the first length byte with 0x0F.
    assert unmarshal(frame("f8026cfdf00001" + "aa")).content == b"\xaa"


def test_same_jid_bytes_decode_to_equal_jids_everywhere() -> None:
    node = Node("x", {"a": JID("1555", "lid", 3), "b": JID("1555", "lid", 3), "c": "1555:4@lid"})
    decoded = unmarshal(marshal(node))
    assert decoded.attrs == {
        "a": JID("1555", "lid", 3),
        "b": JID("1555", "lid", 3),
        "c": JID("1555", "lid", 4),
    }


# Compressed frames --------------------------------------------------------------------------


def test_compressed_frame() -> None:
    node = Node("iq", {"id": "1", "type": "result"}, [Node("ping")])
    body = marshal(node)[1:]
    assert unmarshal(b"\x02" + zlib.compress(body)) == node


def test_other_flag_bits_are_ignored() -> None:
    assert unmarshal(b"\x01" + marshal(Node("iq"))[1:]) == Node("iq")
    assert unmarshal(b"\x03" + zlib.compress(marshal(Node("iq"))[1:])) == Node("iq")


def test_broken_zlib_stream() -> None:
    with pytest.raises(DecodeError, match="not a valid zlib stream") as info:
        unmarshal(b"\x02not zlib at all")
    assert info.value.position == 1


def test_truncated_zlib_stream() -> None:
    compressed = zlib.compress(marshal(Node("iq", {}, bytes(1000)))[1:])
    with pytest.raises(DecodeError, match="ends inside the zlib stream"):
        unmarshal(b"\x02" + compressed[:-6])


def test_trailing_bytes_after_zlib_stream() -> None:
    compressed = zlib.compress(marshal(Node("iq"))[1:])
    with pytest.raises(DecodeError, match="after the zlib stream") as info:
        unmarshal(b"\x02" + compressed + b"xx")
    assert info.value.position == 1 + len(compressed)


def test_zlib_bomb_is_bounded() -> None:
    bomb = b"\x02" + zlib.compress(bytes(10_000_000), 9)
    assert len(bomb) < 20_000
    with pytest.raises(DecodeError, match="inflates beyond 1000000 bytes"):
        unmarshal(bomb, max_inflated=1_000_000)


def test_positions_in_compressed_frames_refer_to_the_inflated_payload() -> None:
    body = bytes.fromhex("f80219")  # promises content, has none
    with pytest.raises(DecodeError) as info:
        unmarshal(b"\x02" + zlib.compress(body))
    assert info.value.position == 3


# Malformed input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason", "position"),
    [
        ("", "empty frame", 0),
        ("00", "unexpected end of data", 1),
        ("00f8", "unexpected end of data", 2),
        ("0019", "expected a node", 1),
        ("0000", "expected a node", 1),
        ("00f800", "empty list header", 2),
        ("00f80100", "empty tag", 3),
        ("00f801fc00", "empty tag", 3),
        ("00f80119ff", "1 trailing bytes", 4),
        ("00f80219", "unexpected end of data", 4),
        ("00f80219fc05aa", "5-byte string runs past the end", 4),
        ("00f80219fe00100000", "1048576-byte string runs past the end", 4),
        ("00f80219fe0010", "unexpected end of data", 7),
        ("00f8031908fc05aa", "5-byte string runs past the end", 5),
        ("00f8031908ff05aa", "5-byte packed string runs past the end", 5),
        ("00f8031908ff80", "odd length with no bytes", 5),
        ("00f8031908ff01cc", "nibble outside", 5),
        ("00f8031908f0", "expected a string, got tag byte 240", 5),
        ("00f80319f80108", "expected a string, got tag byte 248", 4),
        ("00f8031908fa0000", "invalid JID server", 5),
        ("00f8031908fafc0161fc00", "invalid JID server", 5),
        ("00f8031908fafc03613a6203", "invalid JID user", 5),
        ("00f8031908fafa000303", "JID \\(tag byte 250\\) where a plain string is required", 6),
        ("00f8031908f6ff811f000103", "expected msgr", 5),
        ("00f8031908f5ff811f0001000203", "expected interop", 5),
        ("00f8031908f7000cfa0003", "JID \\(tag byte 250\\) where a plain string", 8),
        ("00f80219f802f80119", "unexpected end of data", 9),
        ("00f80219f8020219", "expected a node", 6),
    ],
)
def test_malformed_input(data: str, reason: str, position: int) -> None:
    with pytest.raises(DecodeError, match=reason) as info:
        unmarshal(bytes.fromhex(data))
    assert info.value.position == position
    assert info.value.reason in str(info.value)
    assert f"at byte {position}" in str(info.value)


def test_nesting_limit() -> None:
    node = Node("leaf")
    for _ in range(MAX_DEPTH):
        node = Node("x", {}, [node])
    assert unmarshal(marshal(node)) == node
    # A hand-made frame one level deeper than the encoder allows.
    deep = b"".join([bytes.fromhex("f8024bf801")] * (MAX_DEPTH + 1)) + bytes.fromhex("f8014b")
    with pytest.raises(DecodeError, match="deeper than"):
        unmarshal(b"\x00" + deep)


def test_hostile_nesting_fails_fast() -> None:
    deep = bytes.fromhex("f8024bf801") * 1_000_000
    with pytest.raises(DecodeError, match="deeper than"):
        unmarshal(b"\x00" + deep)


def test_huge_declared_lengths_fail_fast() -> None:
    with pytest.raises(DecodeError, match="runs past the end"):
        unmarshal(bytes.fromhex("00f8026cfeffffffff") + bytes(10))
    with pytest.raises(DecodeError):
        unmarshal(bytes.fromhex("00f8026cf9ffff"))


def test_accepts_bytearray_and_memoryview() -> None:
    encoded = marshal(Node("iq", {"id": "1"}))
    assert unmarshal(bytearray(encoded)) == unmarshal(memoryview(encoded)) == unmarshal(encoded)


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(DecodeError, ValueError)


def test_jid_memo_stays_correct_past_its_bound() -> None:
    # More distinct JIDs than either memo holds, twice over: entries are dropped, never confused.
    jids = [JID(str(15550000000 + i), "s.whatsapp.net", i % 3) for i in range(10_000)]
    node = Node("list", {}, [Node("item", {"jid": j, "text": str(j)}) for j in jids])
    for _ in range(2):
        decoded = unmarshal(marshal(node))
        assert [c.attrs["jid"] for c in decoded.children] == jids
        assert [c.attrs["text"] for c in decoded.children] == jids
