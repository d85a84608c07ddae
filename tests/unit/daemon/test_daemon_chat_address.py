"""daemon.chat_address: which recipients and chat JIDs exist."""

from __future__ import annotations

import pytest

from daemon.binary import JID
from daemon.chat_address import (
    InvalidChat,
    normalize_chat,
    normalize_group,
    normalize_user,
    phone_digits,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+1 (555) 000-1111", "15550001111@s.whatsapp.net"),
        ("15550001111:7@s.whatsapp.net", "15550001111@s.whatsapp.net"),
        ("123456789012345@lid", "123456789012345@lid"),
        ("120363012345678901@g.us", "120363012345678901@g.us"),
        ("15550001111-1446781234@g.us", "15550001111-1446781234@g.us"),
    ],
)
def test_valid_chats(given: str, expected: str) -> None:
    assert normalize_chat(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "",
        "@s.whatsapp.net",
        "1" * 10_000,
        "1" * 16,
        "123456",
        "0155500011",
        "\u00b2" * 9,
        "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",
        "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668@s.whatsapp.net",
        "abc@s.whatsapp.net",
        "1234@lid",
        "12345678@lid:1",
        "abc-def@g.us",
        "123456789:1@g.us",
        "status@broadcast",
        "15550001111@example.com",
    ],
)
def test_invalid_chats(given: str) -> None:
    with pytest.raises(InvalidChat):
        normalize_chat(given)


def test_groups_by_jid_or_bare_id() -> None:
    assert normalize_group("120363012345678901") == "120363012345678901@g.us"
    assert normalize_group(" 120363012345678901@g.us ") == "120363012345678901@g.us"
    for bad in ("join", "\u00b2" * 6, "15550001111@s.whatsapp.net", "", "1" * 200):
        with pytest.raises(InvalidChat):
            normalize_group(bad)


def test_people_and_phone_digits() -> None:
    assert normalize_user("+1 555 000 1111") == "15550001111@s.whatsapp.net"
    with pytest.raises(InvalidChat):
        normalize_user("120363012345678901@g.us")
    assert phone_digits("+1 (555) 000-1111") == "15550001111"
    assert phone_digits("\u00b2" * 9) is None


@pytest.mark.parametrize(
    "given",
    [
        "15550001111@s.whatsapp.net",
        "123456789012345@lid",
        "120363012345678901@g.us",
        "15550001111-1446781234@g.us",
        " 15550001111@s.whatsapp.net ",
    ],
)
def test_a_chat_jid_as_written_is_itself(given: str) -> None:
    """Returned as given (the usual case, no JID rebuilt): what parsing it would make."""
    assert normalize_chat(given) == str(JID.parse(given.strip()).to_non_ad())
