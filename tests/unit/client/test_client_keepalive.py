"""The keepalive timer, stepped through time (no sleeping)."""

from __future__ import annotations

import pytest

from daemon.client.keepalive import Keepalive, build_ping


def fixed(value: float) -> Keepalive:
    return Keepalive(uniform=lambda low, high: value)


def test_ping_schedule_and_answer() -> None:
    keepalive = fixed(25.0)
    keepalive.start(now=100.0)
    assert keepalive.next_deadline() == 125.0
    assert not keepalive.ping_due(124.9)
    assert keepalive.ping_due(125.0)
    assert keepalive.on_ping_sent(125.0) == 135.0
    assert keepalive.next_deadline() == 135.0
    assert not keepalive.ping_due(126.0)  # one ping at a time
    assert not keepalive.is_dead(134.9)
    keepalive.on_frame(126.0)
    keepalive.on_pong(126.5)
    live = keepalive.liveness()
    assert live.connected_at == 100.0
    assert live.last_frame_in == 126.0
    assert live.last_pong == 126.5
    assert live.last_ping_rtt == pytest.approx(1.5)
    assert keepalive.next_deadline() == 151.5


def test_missed_answer_is_dead_at_the_timeout() -> None:
    keepalive = fixed(20.0)
    keepalive.start(now=0.0)
    keepalive.on_ping_sent(20.0)
    assert not keepalive.is_dead(29.99)
    assert keepalive.is_dead(30.0)


def test_intervals_are_drawn_from_the_real_range() -> None:
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return low

    keepalive = Keepalive(uniform=uniform)
    keepalive.start(0.0)
    keepalive.on_ping_sent(20.0)
    keepalive.on_pong(21.0)
    assert drawn == [(20.0, 30.0), (20.0, 30.0)]
    assert keepalive.answer_timeout == 10.0


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Keepalive(interval_min=30.0, interval_max=20.0)
    with pytest.raises(ValueError):
        Keepalive(answer_timeout=0.0)


def test_ping_stanza() -> None:
    ping = build_ping()
    assert ping.tag == "iq"
    assert ping.attrs["xmlns"] == "w:p" and ping.attrs["type"] == "get"
    assert str(ping.attrs["to"]) == "@s.whatsapp.net"
    assert ping.content is None
