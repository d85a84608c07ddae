"""daemon.send_request: which fields each type of send may carry, and what a wrong one is told."""

from __future__ import annotations

import pytest

from daemon.send_request import InvalidSendRequest, MessageKind, parse_send_request

TO = "15550001111@s.whatsapp.net"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"to": TO, "text": "x", "zeta": 1, "alpha": 2}, "unknown field(s): alpha, zeta"),
        ({"to": TO, "text": "x", "latitude": 1.0}, "unknown field(s): latitude"),
        ({"to": TO, "type": "contact", "latitude": 1.0}, "unknown field(s): latitude"),
        ({"to": TO, "type": None, "text": "x"}, "'type' must be one of text, reply,"),
        ({"to": TO, "type": ["text"], "text": "x"}, "'type' must be one of text, reply,"),
        ({"to": TO, "type": "TEXT", "text": "x"}, "'type' must be one of text, reply,"),
        ({"to": TO, "type": "reaction", "text": "x"}, "a reaction message has no field(s): text"),
        (
            {"to": TO, "type": "delete", "messageId": "M", "emoji": "x", "quotedId": "Q"},
            "a delete message has no field(s): emoji, quotedId",
        ),
        ({"to": 5, "text": "x"}, "'to' is required"),
    ],
)
def test_fields_are_checked_by_type(body: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidSendRequest) as refused:
        parse_send_request(body)
    assert str(refused.value).startswith(message)


def test_a_type_takes_its_own_fields() -> None:
    place = parse_send_request(
        {"to": TO, "type": "location", "latitude": 1.5, "longitude": 2.5, "name": "here"}
    )
    assert place.kind is MessageKind.LOCATION and place.location is not None
    assert parse_send_request({"to": TO, "type": "text", "text": "x"}).text == "x"
    assert parse_send_request({"to": "+1 555 000 1111", "text": "x"}).to == TO
