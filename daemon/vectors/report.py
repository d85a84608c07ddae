from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class VectorKind(enum.Enum):
    BINARY = "binary"
    NOISE = "noise"
    SIGNAL = "signal"


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    ok: bool
    detail: str = ""


class UnknownVectorFile(ValueError):
    pass


def detect_kind(doc: Any) -> VectorKind:
    if not isinstance(doc, dict):
        raise UnknownVectorFile("vector file is not a JSON object")
    if "handshake_trace" in doc and "transport" in doc:
        return VectorKind.NOISE
    if "pairwise_messages" in doc or ("group" in doc and "alice" in doc):
        return VectorKind.SIGNAL
    if isinstance(doc.get("vectors"), list) and "conventions" in doc:
        return VectorKind.BINARY
    raise UnknownVectorFile("cannot tell the vector kind from the file's keys")


def replay_file(path: Path) -> tuple[VectorKind, list[CaseResult]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    kind = detect_kind(doc)
    if kind is VectorKind.BINARY:
        from daemon.vectors import binary

        return kind, binary.replay(doc)
    if kind is VectorKind.NOISE:
        from daemon.vectors import noise

        return kind, noise.replay(doc)
    from daemon.vectors import signal

    return kind, signal.replay(doc)
