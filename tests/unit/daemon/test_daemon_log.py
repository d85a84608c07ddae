"""Log lines: JSON, tracebacks without frame locals, phone numbers masked wherever they are."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator

import pytest
import structlog

from daemon import log


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("/chats/15550003333@s.whatsapp.net/x", "/chats/*******3333@s.whatsapp.net/x"),
        ("15550003333:12@s.whatsapp.net", "*******3333:12@s.whatsapp.net"),
        ("send to +15550003333 failed", "send to *******3333 failed"),
        ("/sessions/a/chats/15550003333/messages", "/sessions/a/chats/*******3333/messages"),
        ("%2B15550003333", "%2B*******3333"),
        ("message 3EB0C1D2E3F4A5B6C7D8E9 at 2026-12-07T08:35:18.123456Z", None),
        ("t=1796632161.5 on http://127.0.0.1:8080/x", None),
        ("*******3333@s.whatsapp.net", None),
    ],
)
def test_numbers_in_free_text_are_masked(text: str, masked: str | None) -> None:
    assert log.mask_text(text) == (masked if masked is not None else text)


@pytest.fixture
def output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """``log.configure`` writing to a buffer; the process-wide state is put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = sys.excepthook, threading.excepthook
    structlog_config = structlog.get_config()
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    log.configure("json", "info")
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks
    logging.captureWarnings(False)
    structlog.configure(**structlog_config)


def test_a_logged_exception_has_no_frame_locals(output: io.StringIO) -> None:

    def failing(api_key: str, text: str) -> None:
        raise ValueError("no device for 15550003333@s.whatsapp.net")

    try:
        failing("admin-key-0123456789abcdef", "a private message")
    except ValueError:
        structlog.get_logger("test").exception("test.failed", path="/chats/15550003333/x")
        logging.getLogger("asyncio").error("Task exception was never retrieved", exc_info=True)
    lines = output.getvalue().splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "test.failed" and first["path"] == "/chats/*******3333/x"
    (exception,) = first["exception"]
    assert exception["exc_value"] == "no device for *******3333@s.whatsapp.net"
    assert all("locals" not in frame for frame in exception["frames"])
    assert second["logger"] == "asyncio" and second["level"] == "error"
    assert all("locals" not in frame for frame in second["exception"][0]["frames"])
    out = "\n".join(lines)
    for secret in ("admin-key-0123456789abcdef", "a private message", "15550003333"):
        assert secret not in out
