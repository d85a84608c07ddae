"""structlog configuration: JSON lines on stdout for journald, or console rendering for humans."""

from __future__ import annotations

import logging
import sys
from typing import Literal

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
