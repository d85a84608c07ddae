"""marshal: the bytes each kind of value becomes (Baileys' encoder is the reference)."""

from __future__ import annotations

import pytest

from daemon.binary import JID, EncodeError, Node, marshal

IQ = 0x19  # single-byte token "iq"
T = 0x1A  # single-byte token "t"


def attr_bytes(value: str | JID) -> bytes:
    """The bytes ``value`` becomes as the value of the attribute t on <iq>."""
    encoded = marshal(Node("iq", {"t": value}))
    assert encoded[:5] == bytes((0, 248, 3, IQ, T))
    return encoded[5:]


def test_flag_byte_and_list_header() -> None:
    assert marshal(Node("iq")) == bytes.fromhex("00f80119")
    # 1 (tag) + 2 per attribute + 1 for content
    assert marshal(Node("iq", {"t": "get"}, b"")) == bytes.fromhex("00f804191a29fc00")


# Strings ------------------------------------------------------------------------------------


def test_empty_string_is_binary8_of_length_zero() -> None:
    assert attr_bytes("") == bytes.fromhex("fc00")


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("99", "ff0199"),
        ("123", "ff82123f"),  # odd: bit 7 of the length, pad nibble 0xF
        ("12.34-5", "ff8412b34a5f"),
        ("--", "ff01aa"),  # "-" alone is a double-byte token
        ("1.-", "ff821baf"),
    ],
)
def test_nibble_packing(text: str, encoded: str) -> None:
    assert attr_bytes(text) == bytes.fromhex(encoded)


@pytest.mark.parametrize(
    ("text", "encoded"),
    [("AB", "fb01ab"), ("ABCDE", "fb83abcdef"), ("3EB0A1", "fb033eb0a1"), ("F", "fb81ff")],
)
def test_hex_packing(text: str, encoded: str) -> None:
    assert attr_bytes(text) == bytes.fromhex(encoded)


def test_single_digits_are_tokens_not_nibbles() -> None:
    assert attr_bytes("7") == bytes.fromhex("e3")
    assert attr_bytes("4") == bytes.fromhex("ec22")


def test_lowercase_hex_is_not_packed() -> None:
    assert attr_bytes("abcdef") == b"\xfc\x06abcdef"


def test_mixed_case_hex_is_not_packed() -> None:
    assert attr_bytes("ABcd") == b"\xfc\x04ABcd"


def test_packed_max_is_127_characters() -> None:
    assert attr_bytes("1" * 127)[:2] == bytes((0xFF, 0x80 | 64))
    assert len(attr_bytes("1" * 127)) == 2 + 64
    assert attr_bytes("2" * 128) == bytes((0xFC, 128)) + b"2" * 128
    assert attr_bytes("A" * 127)[:2] == bytes((0xFB, 0x80 | 64))
    assert attr_bytes("A" * 128) == bytes((0xFC, 128)) + b"A" * 128


def test_non_ascii_digits_are_raw() -> None:
    assert attr_bytes("١٢") == b"\xfc\x04" + "١٢".encode()


def test_raw_utf8_length_counts_bytes() -> None:
    assert attr_bytes("é✓") == b"\xfc\x05" + "é✓".encode()


@pytest.mark.parametrize(
    ("length", "header"),
    [
        (255, "fcff"),
        (256, "fd000100"),
        ((1 << 20) - 1, "fd0fffff"),
        (1 << 20, "fe00100000"),
    ],
)
def test_string_length_boundaries(length: int, header: str) -> None:
    encoded = marshal(Node("value", {}, "x" * length))
    assert encoded[:4] == bytes.fromhex("00f8026c")
    assert encoded[4:] == bytes.fromhex(header) + b"x" * length


# Bytes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "header"),
    [
        (0, "fc00"),
        (255, "fcff"),
        (256, "fd000100"),
        ((1 << 20) - 1, "fd0fffff"),
        (1 << 20, "fe00100000"),
    ],
)
def test_binary_length_boundaries(length: int, header: str) -> None:
    payload = bytes(length)
    encoded = marshal(Node("value", {}, payload))
    assert encoded == bytes.fromhex("00f8026c" + header) + payload


def test_bytearray_and_memoryview_content() -> None:
    expected = marshal(Node("value", {}, b"\x01\x02"))
    assert marshal(Node("value", {}, bytearray(b"\x01\x02"))) == expected  # type: ignore[arg-type]
    assert marshal(Node("value", {}, memoryview(b"\x01\x02"))) == expected  # type: ignore[arg-type]


def test_digit_bytes_stay_binary() -> None:
    # Payloads must stay BINARY_* even when they look like digits (whatsmeow wants []byte).
    assert marshal(Node("value", {}, b"1234")) == bytes.fromhex("00f8026cfc0431323334")


# Lists --------------------------------------------------------------------------------------


def test_empty_child_list_is_list_empty() -> None:
    assert marshal(Node("list", {}, [])) == bytes.fromhex("00f8027100")


def test_children_use_list8_up_to_255() -> None:
    encoded = marshal(Node("list", {}, [Node("item")] * 255))
    assert encoded[:6] == bytes.fromhex("00f80271f8ff")


def test_children_use_list16_from_256() -> None:
    encoded = marshal(Node("list", {}, [Node("item")] * 300))
    assert encoded[:7] == bytes.fromhex("00f80271f9012c")
    assert encoded[7:11] == bytes.fromhex("f8013f") + b"\xf8"


def test_tuple_children_are_accepted() -> None:
    node = Node("list", {}, (Node("item"),))  # type: ignore[arg-type]
    assert marshal(node) == marshal(Node("list", {}, [Node("item")]))


def test_many_attributes_use_list16() -> None:
    attrs = {f"k{i}": "v" for i in range(130)}
    assert marshal(Node("x", attrs))[1:4] == bytes((0xF9, 0x01, 0x05))  # 261 = 0x105


# JIDs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (JID("", "s.whatsapp.net"), "fa0003"),
        (JID("15551234567", "s.whatsapp.net"), "faff8615551234567f03"),
        (JID("15551234567", "s.whatsapp.net", 12), "f7000cff8615551234567f"),
        (JID("15551234567", "s.whatsapp.net", 3, agent=2), "f70203ff8615551234567f"),
        (JID("15551234567", "s.whatsapp.net", agent=2), "f70200ff8615551234567f"),
        (JID("123456789012345", "lid"), "faff88123456789012345f76"),
        (JID("123456789012345", "lid", 7), "f70107ff88123456789012345f"),
        (JID("15551234567", "hosted"), "f78000ff8615551234567f"),
        (JID("15551234567", "hosted", 99), "f78063ff8615551234567f"),
        (JID("123456789012345", "hosted.lid", 99), "f78163ff88123456789012345f"),
        (JID("status", "broadcast"), "fa0b0d"),
        (JID("120363012345678901", "g.us"), "faff091203630123456789011c"),
        (JID("16505361212", "c.us"), "faff8616505361212ffc04632e7573"),
        (JID("100012345", "msgr", 4), "f6ff85100012345f0004cc"),
        (JID("5551234", "interop", 1, integrator=3), "f5ff845551234f00010003fc07696e7465726f70"),
    ],
)
def test_typed_jid_encodings(value: JID, encoded: str) -> None:
    assert attr_bytes(value) == bytes.fromhex(encoded)


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("@s.whatsapp.net", "fa0003"),
        ("15551234567@s.whatsapp.net", "faff8615551234567f03"),
        ("15551234567:12@s.whatsapp.net", "f7000cff8615551234567f"),
        # Text that spells device 0 is an AD_JID (Baileys); a JID with device 0 is a JID_PAIR.
        ("15551234567:0@s.whatsapp.net", "f70000ff8615551234567f"),
        ("123456789012345:0@lid", "f70100ff88123456789012345f"),
        # Hosted text without a device is a JID_PAIR (Baileys); a hosted JID is always AD_JID.
        ("15551234567@hosted", "faff8615551234567ffc06686f73746564"),
        ("15551234567.2:3@s.whatsapp.net", "f70203ff8615551234567f"),
        ("100012345:4@msgr", "f6ff85100012345f0004cc"),
    ],
)
def test_jid_text_encodings(text: str, encoded: str) -> None:
    assert attr_bytes(text) == bytes.fromhex(encoded)


def test_jid_text_and_typed_jid_agree_otherwise() -> None:
    for text in ["1@s.whatsapp.net", "1:5@lid", "status@broadcast", "1-2@g.us", "x@c.us"]:
        assert attr_bytes(text) == attr_bytes(JID.parse(text))


@pytest.mark.parametrize("text", ["a@b@c", "1:2@g.us", "x@", "1:2:3@lid", "1:999@lid"])
def test_text_that_is_not_a_jid_is_raw(text: str) -> None:
    raw = text.encode()
    assert attr_bytes(text) == bytes((0xFC, len(raw))) + raw


def test_jid_string_content() -> None:
    # String content goes through the same writer as attribute values.
    assert marshal(Node("value", {}, "1555@s.whatsapp.net")) == bytes.fromhex(
        "00f8026cfaff02155503"
    )


# Errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (Node(""), "tag"),
        (Node(5), "tag"),  # type: ignore[arg-type]
        (Node("x", {"k": 5}), "'k' must be str or JID"),  # type: ignore[dict-item]
        (Node("x", {"k": None}), "'k' must be str or JID"),  # type: ignore[dict-item]
        (Node("x", {5: "v"}), "key must be str"),  # type: ignore[dict-item]
        (Node("x", {}, 5), "content"),  # type: ignore[arg-type]
        (Node("x", {}, ["not a node"]), "expected a Node"),  # type: ignore[list-item]
        (Node("x", {"k": "\ud800"}), "UTF-8"),
        (Node("x", {}, [Node("y")] * 70000), "LIST_16"),
    ],
)
def test_unencodable_nodes_raise_encode_error(node: Node, message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        marshal(node)


def test_depth_limit() -> None:
    node = Node("leaf")
    for _ in range(70):
        node = Node("x", {}, [node])
    with pytest.raises(EncodeError, match="deeper"):
        marshal(node)


def test_cyclic_children_fail_cleanly() -> None:
    children: list[Node] = []
    node = Node("x", {}, children)
    children.append(node)
    with pytest.raises(EncodeError, match="deeper"):
        marshal(node)


def test_encode_error_is_a_value_error() -> None:
    assert issubclass(EncodeError, ValueError)
