"""structlog configuration: JSON lines on stdout for journald, or console rendering for humans."""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, Protocol

import structlog

LogFormat = Literal["json", "console"]


def mask_phone(value: str) -> str:
    """Masks all but the last four digits of a phone number or the user part of a JID."""
    user, sep, rest = value.partition("@")
    digits = user.split(":")[0].split(".")[0]
    if len(digits) <= 4 or not digits.isdigit():
        return value
    masked = "*" * (len(digits) - 4) + digits[-4:]
    return masked + user[len(digits) :] + sep + rest


def configure(fmt: LogFormat = "json", level: str = "info") -> None:
    renderer: structlog.typing.Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )


MAX_UNKNOWN_KINDS = 256
"""Kinds remembered per logger at most (a peer sending random tags cannot grow it forever)."""


class DebugLog(Protocol):
    def debug(self, event: str, *args: Any, **kw: Any) -> Any: ...


class UnknownKinds:
    """Logs a stanza kind nobody handles once, at debug: the next protocol change shows up in
    the logs without a line per stanza."""

    def __init__(self, log: DebugLog, event: str) -> None:
        self._log = log
        self._event = event
        self._seen: set[str] = set()

    def note(self, kind: str) -> bool:
        """True when ``kind`` was new (and logged)."""
        if kind in self._seen or len(self._seen) >= MAX_UNKNOWN_KINDS:
            return False
        self._seen.add(kind)
        self._log.debug(self._event, kind=kind)
        return True
