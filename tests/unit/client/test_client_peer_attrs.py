"""Peer message attributes as current whatsmeow sends them (send.go preparePeerMessageNode)."""

from __future__ import annotations

from daemon.binary import JID
from daemon.client.peer_data import on_demand_request
from daemon.client.peer_messages import peer_attrs
from daemon.client.placeholder import MissingMessage, resend_request

CHAT = JID.parse("15550002222@s.whatsapp.net")


def test_on_demand_history_is_privacy_sensitive_and_high_force() -> None:
    request = on_demand_request(
        CHAT, oldest_id="M1", oldest_from_me=False, oldest_timestamp=1700000000, count=50
    )
    assert peer_attrs(request, None) == {
        "category": "peer",
        "push_priority": "high_force",
        "privacy_sensitive": "1",
    }


def test_other_peer_messages_carry_only_what_they_ask_for() -> None:
    resend = resend_request(MissingMessage(CHAT, CHAT, False, "M2", "unavailable"))
    assert peer_attrs(resend, None) == {"category": "peer"}
    assert peer_attrs(resend, "high") == {"category": "peer", "push_priority": "high"}
