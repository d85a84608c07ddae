"""WhatsApp plaintext padding and the session / sender key address forms."""

from __future__ import annotations

import pytest

from daemon.binary.jid import JID
from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.errors import InvalidMessageError, InvalidPaddingError
from daemon.signal.padding import pad, pad_with, unpad


@pytest.mark.parametrize("random_byte", [0x00, 0x0F, 0xF3, 0x10])
def test_pad_uses_the_low_nibble_plus_one(random_byte: int) -> None:
    count = (random_byte & 0x0F) + 1
    padded = pad(b"message", lambda: random_byte)
    assert padded == b"message" + bytes((count,)) * count
    assert unpad(padded) == b"message"


def test_default_random_padding_round_trips() -> None:
    lengths = {len(pad(b"m")) - 1 for _ in range(400)}
    assert lengths <= set(range(1, 17))
    assert len(lengths) > 8
    assert all(unpad(pad(b"abc")) == b"abc" for _ in range(50))


def test_pad_with_a_chosen_length() -> None:
    assert pad_with(b"", 16) == bytes((16,)) * 16
    for bad in (0, 17):
        with pytest.raises(ValueError):
            pad_with(b"x", bad)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"abc\x11" + b"\x11" * 16, b"\x05\x05", b"abc\x01\x03\x03", b"\x02"],
)
def test_unpad_rejects_bad_padding(data: bytes) -> None:
    with pytest.raises(InvalidPaddingError):
        unpad(data)
    assert issubclass(InvalidPaddingError, InvalidMessageError)


@pytest.mark.parametrize(
    ("jid", "address"),
    [
        ("15550001111@s.whatsapp.net", "15550001111.0"),
        ("15550002222:3@s.whatsapp.net", "15550002222.3"),
        ("123456789:5@lid", "123456789_1.5"),
        ("123456789@lid", "123456789_1.0"),
        ("4477:2@hosted", "4477_128.2"),
        ("4477:99@hosted.lid", "4477_129.99"),
    ],
)
def test_address_from_jid(jid: str, address: str) -> None:
    parsed = ProtocolAddress.from_jid(JID.parse(jid))
    assert str(parsed) == address
    assert ProtocolAddress.parse(address) == parsed
    assert ProtocolAddress(parsed.name, parsed.device_id) == parsed


def test_address_validation() -> None:
    with pytest.raises(ValueError):
        ProtocolAddress.from_jid(JID.parse("@s.whatsapp.net"))
    with pytest.raises(ValueError):
        ProtocolAddress.from_jid(JID("a.b", "lid", 2))  # a valid JID, not a valid address
    for bad in ("nodevice", "user.", "user.x", ".3"):
        with pytest.raises(ValueError):
            ProtocolAddress.parse(bad)
    with pytest.raises(ValueError):
        ProtocolAddress("a.b", 1)


def test_sender_key_name() -> None:
    name = SenderKeyName.from_jids(JID.parse("120363000000000001@g.us"), JID.parse("987:4@lid"))
    assert str(name) == "120363000000000001@g.us::987_1::4"
