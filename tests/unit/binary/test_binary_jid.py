"""JID string form, validation, constants and helpers."""

from __future__ import annotations

import pytest

from daemon.binary import (
    GROUP_SERVER_JID,
    JID,
    SERVER_JID,
    STATUS_BROADCAST_JID,
    JIDError,
    Server,
)


@pytest.mark.parametrize(
    ("text", "jid"),
    [
        ("15551234567@s.whatsapp.net", JID("15551234567", "s.whatsapp.net")),
        ("15551234567:12@s.whatsapp.net", JID("15551234567", "s.whatsapp.net", device=12)),
        ("15551234567.2:3@s.whatsapp.net", JID("15551234567", "s.whatsapp.net", 3, agent=2)),
        ("123456789012345@lid", JID("123456789012345", "lid")),
        ("123456789012345:7@lid", JID("123456789012345", "lid", 7)),
        ("120363012345678901@g.us", JID("120363012345678901", "g.us")),
        ("15551234567-1600000000@g.us", JID("15551234567-1600000000", "g.us")),
        ("status@broadcast", JID("status", "broadcast")),
        ("1234567890@broadcast", JID("1234567890", "broadcast")),
        ("15551234567:99@hosted", JID("15551234567", "hosted", 99)),
        ("123456789012345:99@hosted.lid", JID("123456789012345", "hosted.lid", 99)),
        ("120363000000000000@newsletter", JID("120363000000000000", "newsletter")),
        ("100012345:4@msgr", JID("100012345", "msgr", 4)),
        ("3-5551234:1@interop", JID("5551234", "interop", 1, integrator=3)),
        ("0-12-34@interop", JID("12-34", "interop")),
        ("@s.whatsapp.net", JID("", "s.whatsapp.net")),
        ("server@c.us", JID("server", "c.us")),
        ("a.b@c.us", JID("a.b", "c.us")),
    ],
)
def test_parse_and_str_round_trip(text: str, jid: JID) -> None:
    assert JID.parse(text) == jid
    assert str(jid) == text
    assert JID.parse(str(jid)) == jid


def test_device_zero_is_not_written() -> None:
    assert str(JID.parse("15551234567:0@s.whatsapp.net")) == "15551234567@s.whatsapp.net"


def test_agent_jid_always_shows_its_device() -> None:
    assert str(JID("1", "s.whatsapp.net", agent=5)) == "1.5:0@s.whatsapp.net"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "15551234567",  # no server
        "s.whatsapp.net",
        "1@",
        "a@b@c",
        "1:2:3@s.whatsapp.net",
        "1:x@s.whatsapp.net",
        "1:@s.whatsapp.net",
        "1:-1@s.whatsapp.net",
        "1:256@s.whatsapp.net",  # AD_JID's device is one byte
        "1:123456@msgr",
        "1:2@g.us",  # groups have no devices
        "1.2.3@s.whatsapp.net",
        "1.x:0@s.whatsapp.net",
        "1.1:0@s.whatsapp.net",  # agent 1 would read back as a LID
        "1:²@s.whatsapp.net",  # non-ASCII digit
        "1:" + "9" * 5000 + "@s.whatsapp.net",
    ],
)
def test_bad_strings_raise_jid_error(text: str) -> None:
    with pytest.raises(JIDError):
        JID.parse(text)


def test_jid_error_is_a_value_error_naming_the_input() -> None:
    with pytest.raises(ValueError, match="a@b@c"):
        JID.parse("a@b@c")


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"user": "1", "server": ""}, "server"),
        ({"user": "1@2", "server": "lid"}, "user"),
        ({"user": "1:2", "server": "lid"}, "user"),
        ({"user": "1", "server": "g.us", "device": 1}, "no devices"),
        ({"user": "1", "server": "lid", "agent": 2}, "agent"),
        ({"user": "1", "server": "s.whatsapp.net", "agent": 128}, "domain"),
        ({"user": "1", "server": "s.whatsapp.net", "integrator": 1}, "integrator"),
        ({"user": "1", "server": "interop", "integrator": 70000}, "integrator"),
        ({"user": "1", "server": "msgr", "device": 70000}, "device"),
    ],
)
def test_constructor_rejects_unrepresentable_jids(kwargs: dict[str, object], reason: str) -> None:
    with pytest.raises(JIDError, match=reason):
        JID(**kwargs)  # type: ignore[arg-type]


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(JIDError):
        JID.parse(b"1@s.whatsapp.net")  # type: ignore[arg-type]


def test_constants() -> None:
    assert str(SERVER_JID) == "@s.whatsapp.net"
    assert SERVER_JID.is_server and SERVER_JID.is_pn
    assert str(GROUP_SERVER_JID) == "@g.us"
    assert str(STATUS_BROADCAST_JID) == "status@broadcast"
    assert STATUS_BROADCAST_JID.is_status_broadcast and STATUS_BROADCAST_JID.is_broadcast


def test_server_enum_values_compare_as_strings() -> None:
    assert JID("1", Server.LID) == JID("1", "lid")
    assert hash(JID("1", Server.LID)) == hash(JID("1", "lid"))
    assert str(JID("1", Server.LID, 2)) == "1:2@lid"


def test_predicates() -> None:
    device = JID.parse("15551234567:3@s.whatsapp.net")
    assert device.is_pn and device.is_ad and not device.is_lid
    assert JID.parse("1:1@lid").is_lid
    assert JID.parse("1:99@hosted").is_hosted and JID.parse("1:99@hosted.lid").is_hosted
    assert JID.parse("1-2@g.us").is_group
    assert JID.parse("1@newsletter").is_newsletter
    assert not JID.parse("1@broadcast").is_status_broadcast


def test_to_non_ad_and_with_device() -> None:
    device = JID("15551234567", "s.whatsapp.net", 3, agent=2)
    account = device.to_non_ad()
    assert account == JID("15551234567", "s.whatsapp.net")
    assert not account.is_ad
    assert account.to_non_ad() is account
    assert account.with_device(5) == JID("15551234567", "s.whatsapp.net", 5)
    interop = JID("5", "interop", 2, integrator=9)
    assert interop.to_non_ad() == JID("5", "interop", integrator=9)


@pytest.mark.parametrize(
    "jid",
    [
        JID("15551234567", "s.whatsapp.net", 3, agent=2),
        JID("123456789012345", "lid", 7),
        JID("15551234567", "hosted", 99),
        JID("123456789012345", "hosted.lid"),
        JID("5", "interop", 2, integrator=9),
        JID("77", "msgr", 300),
    ],
)
def test_derived_jids_equal_validated_ones_and_skip_validation(
    jid: JID, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device of an account, or the account of a device, is made from fields a valid JID
    had: equal to the validated construction, without running the validation again."""
    for device in (0, 1, 255):
        assert jid.with_device(device) == JID(
            jid.user, jid.server, device, jid.agent, jid.integrator
        )
    assert jid.to_non_ad() == JID(jid.user, jid.server, integrator=jid.integrator)
    checks: list[JID] = []
    validate = JID.__post_init__

    def counting(self: JID) -> None:
        checks.append(self)
        validate(self)

    monkeypatch.setattr(JID, "__post_init__", counting)
    jid.with_device(4)
    jid.to_non_ad().with_device(0)
    assert jid.with_device(jid.device) is jid
    assert checks == []


def test_with_device_still_checks_the_device() -> None:
    with pytest.raises(JIDError):
        JID("1", "s.whatsapp.net").with_device(256)
    with pytest.raises(JIDError):
        JID("1", "lid").with_device(-1)
    with pytest.raises(JIDError):
        JID("1-2", "g.us").with_device(1)
    assert JID("1", "msgr").with_device(0xFFFF).device == 0xFFFF


def test_ad_domain() -> None:
    assert JID("1", "s.whatsapp.net").ad_domain == 0
    assert JID("1", "s.whatsapp.net", agent=7).ad_domain == 7
    assert JID("1", "lid").ad_domain == 1
    assert JID("1", "hosted").ad_domain == 128
    assert JID("1", "hosted.lid").ad_domain == 129
    assert JID("1", "g.us").ad_domain is None


def test_jids_are_frozen_and_hashable() -> None:
    jid = JID("1", "lid")
    with pytest.raises(AttributeError):
        jid.user = "2"  # type: ignore[misc]
    assert {jid: 1}[JID.parse("1@lid")] == 1
