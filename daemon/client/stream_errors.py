"""Reading how the server ends a connection: ``stream:error``, ``failure``, ``xmlstreamend``.

Each parser turns the stanza into a :class:`~daemon.client.disconnect.Decision` through the one
policy table (``disconnect.decide``); nothing else decides whether to reconnect.
"""

from __future__ import annotations

from daemon.binary import Node
from daemon.client.disconnect import Decision, decide


def _code(node: Node, attr: str) -> int | None:
    value = node.attrs.get(attr)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_stream_error(node: Node) -> Decision:
    """``stream:error code=N > conflict(type=replaced|device_removed)?``. The real server sends
    ``replaced`` without a code; Baileys names the reason after the first child's tag."""
    code = _code(node, "code")
    conflict = node.child("conflict")
    conflict_type = conflict.attr_str("type") if conflict is not None else None
    first = node.children[0].tag if node.children else ""
    detail = f"stream error {code if code is not None else '(no code)'}"
    if first and conflict is None:
        detail += f" <{first}>"
    if code is None and conflict is None:
        # No code and no conflict: Baileys calls this a bad session (500).
        code = 500
    return decide(code, conflict_type, detail)


def parse_failure(node: Node) -> Decision:
    """``failure reason=N`` in place of ``success``: the login was refused."""
    reason = _code(node, "reason")
    decision = decide(reason, None, f"login failure {reason}")
    location = node.attr_str("location")
    if location:
        return Decision(decision.action, decision.code, f"{decision.reason} (at {location})")
    return decision


def stream_end() -> Decision:
    """``xmlstreamend``: the server closed the stream without saying why."""
    return decide(None, None, "server ended the stream")


def connection_lost(detail: str) -> Decision:
    """The socket broke (network error, timeout, or closed without a stream error)."""
    return decide(None, None, detail)
