"""structlog configuration: JSON lines on stdout for journald, or console rendering for humans.

What a log line may carry (ARCHITECTURE principle 10): event names, ids, states, reasons, masked
phone numbers; never secrets, message bodies or the local variables of a traceback's frames.
So tracebacks are rendered without locals, and every string in a line (its fields and its
exception text) goes through :func:`mask_text` as the last step before rendering: a number that
slipped into an error message or a request path is masked like the ones logged on purpose.

Everything else that writes to the process's output is routed into the same stream: the standard
library's ``logging`` (asyncio's "Task exception was never retrieved", aiohttp's server errors),
``warnings``, and an exception nothing caught. Each becomes one JSON object per line.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Mapping, MutableMapping
from types import TracebackType
from typing import Any, Literal, Protocol

import structlog
from structlog.tracebacks import ExceptionDictTransformer

LogFormat = Literal["json", "console"]

# A phone number: the user part of a phone-number JID, or a run of 7 to 15 digits (E.164) that
# is not part of a longer word (message ids are hex, timestamps have separators).
_JID_USER = re.compile(r"(?<![\w*])\+?(\d{5,})(?=(?:[:.]\d+)?(?:@|%40)(?:s\.whatsapp\.net|c\.us))")
_BARE_NUMBER = re.compile(r"(?:(?<=%2B)|(?<![\w*.-]))\+?(\d{7,15})(?![\w.])")


def mask_phone(value: str) -> str:
    """Masks all but the last four digits of a phone number or the user part of a JID."""
    user, sep, rest = value.partition("@")
    digits = user.split(":")[0].split(".")[0]
    if len(digits) <= 4 or not digits.isdigit():
        return value
    masked = "*" * (len(digits) - 4) + digits[-4:]
    return masked + user[len(digits) :] + sep + rest


def _masked_digits(match: re.Match[str]) -> str:
    digits = match.group(1)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_text(text: str) -> str:
    """Masks every phone number inside free text (error messages, URLs, paths)."""
    return _BARE_NUMBER.sub(_masked_digits, _JID_USER.sub(_masked_digits, text))


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def mask_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The processor: masks phone numbers in every string of the line (exceptions included)."""
    return {key: _masked(value) for key, value in event_dict.items()}


def _shared_processors() -> list[structlog.typing.Processor]:
    return [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Frame locals would carry API keys, request bodies, message texts and numbers.
        structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
        mask_personal_data,
    ]


def configure(fmt: LogFormat = "json", level: str = "info") -> None:
    renderer: structlog.typing.Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    threshold = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *_shared_processors(), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(renderer, threshold)
    _route_uncaught_exceptions()


def _route_standard_logging(renderer: structlog.typing.Processor, threshold: int) -> None:
    """The standard library's records, rendered like ours, on stdout (not as text on stderr)."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *_shared_processors()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    # Libraries' info chatter stays out; their warnings and errors come through.
    root.setLevel(max(threshold, logging.WARNING))
    logging.captureWarnings(True)


def _route_uncaught_exceptions() -> None:
    log = structlog.get_logger("wamd")

    def on_uncaught(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        log.critical("process.uncaught_exception", exc_info=(kind, value, tb))

    def on_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        log.error(
            "thread.uncaught_exception",
            thread=args.thread.name if args.thread is not None else None,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = on_uncaught
    threading.excepthook = on_thread


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
