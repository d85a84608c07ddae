"""Replays vector files produced by independent implementations (../shared/vectors).

Each kind has its own module exposing ``replay(doc) -> list[CaseResult]``; the kind is
detected from the file's top-level keys.
"""

from daemon.vectors.report import CaseResult, VectorKind, detect_kind, replay_file

__all__ = ["CaseResult", "VectorKind", "detect_kind", "replay_file"]
