"""stream:error / failure / xmlstreamend parsed into the disconnect table's decisions."""

from __future__ import annotations

import pytest

from daemon.binary import Node
from daemon.client.disconnect import DisconnectAction
from daemon.client.state import SessionState, Trigger, next_state
from daemon.client.stream_errors import (
    connection_lost,
    parse_failure,
    parse_stream_error,
    stream_end,
)


@pytest.mark.parametrize(
    ("node", "action", "code"),
    [
        (Node("stream:error", {"code": "515"}), DisconnectAction.RECONNECT_NOW, 515),
        (
            Node("stream:error", {"code": "401"}, [Node("conflict", {"type": "device_removed"})]),
            DisconnectAction.LOGGED_OUT,
            401,
        ),
        (
            Node("stream:error", {}, [Node("conflict", {"type": "replaced"})]),
            DisconnectAction.REPLACED,
            440,
        ),
        (Node("stream:error", {"code": "503"}), DisconnectAction.BACK_OFF, 503),
        (Node("stream:error", {}, [Node("xml-not-well-formed")]), DisconnectAction.BACK_OFF, 500),
        (Node("stream:error", {"code": "405"}), DisconnectAction.OUTDATED, 405),
    ],
)
def test_stream_errors(node: Node, action: DisconnectAction, code: int) -> None:
    decision = parse_stream_error(node)
    assert decision.action is action
    assert decision.code == code
    assert decision.reason


@pytest.mark.parametrize(
    ("reason", "action", "state"),
    [
        ("401", DisconnectAction.LOGGED_OUT, SessionState.LOGGED_OUT),
        ("402", DisconnectAction.BANNED, SessionState.BANNED),
        ("403", DisconnectAction.BANNED, SessionState.BANNED),
        ("405", DisconnectAction.OUTDATED, SessionState.OUTDATED),
        ("406", DisconnectAction.LOGGED_OUT, SessionState.LOGGED_OUT),
        ("409", DisconnectAction.OUTDATED, SessionState.OUTDATED),
        ("500", DisconnectAction.BACK_OFF, SessionState.BACKING_OFF),
        ("503", DisconnectAction.BACK_OFF, SessionState.BACKING_OFF),
    ],
)
def test_login_failures(reason: str, action: DisconnectAction, state: SessionState) -> None:
    decision = parse_failure(Node("failure", {"reason": reason, "location": "frc"}))
    assert decision.action is action
    assert decision.code == int(reason)
    assert "frc" in decision.reason
    assert next_state(SessionState.CONNECTING, decision.trigger) is state


def test_stream_end_and_lost_connections_back_off() -> None:
    for decision in (stream_end(), connection_lost("socket closed")):
        assert decision.action is DisconnectAction.BACK_OFF
        assert decision.code is None
        assert decision.trigger is Trigger.CONNECTION_LOST
    assert connection_lost("socket closed").reason == "socket closed"
