"""Replays WABinary vectors (../shared/vectors/binary.json, made with Baileys' encoder/decoder).

Per vector, up to three checks:

- ``encode``: ``marshal(node)`` equals ``encoded`` byte for byte (for large vectors: the prefix, the
  length and the SHA-256). Skipped for ``decode_only`` vectors (frames no encoder makes, e.g.
  compressed ones).
- ``decode``: ``unmarshal(encoded)`` equals ``decoded`` when the vector gives one (Baileys' decoder
  output where it is not a round trip), else ``node``. JID attribute values compare by string form.
- ``re-encode``: for ``roundtrip_equal`` vectors, marshalling the decoded node gives ``encoded``
  again, so typed values (JIDs) written by our own rule reproduce Baileys' bytes.

Plus one ``conventions`` check: the file's tag bytes and dictionary sizes are ours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from daemon.binary import DICT_VERSION, JID, Node, marshal, tags, unmarshal
from daemon.binary.tokens import DOUBLE_BYTE_TOKENS, SINGLE_BYTE_TOKENS
from daemon.vectors.report import CaseResult

__all__ = ["replay"]

# What a node looks like for comparison: tag, attributes as text, content (bytes kept as bytes).
Plain = tuple[str, dict[str, str], Any]


@dataclass(frozen=True, slots=True)
class _Expected:
    """The encoding a vector promises: all of it, or (for large ones) prefix + length + digest."""

    prefix: bytes
    length: int
    sha256: str | None
    complete: bool

    @classmethod
    def from_vector(cls, vector: dict[str, Any]) -> _Expected:
        sha = vector.get("encoded_sha256")
        if "encoded" in vector:
            data = bytes.fromhex(vector["encoded"])
            return cls(data, len(data), sha, True)
        prefix = bytes.fromhex(vector["encoded_prefix"])
        return cls(prefix, int(vector["encoded_length"]), sha, False)

    def mismatch(self, data: bytes) -> str | None:
        if len(data) != self.length:
            return f"length {len(data)}, expected {self.length}"
        if not data.startswith(self.prefix):
            return f"got {_diff(data, self.prefix)}"
        if self.sha256 is not None and hashlib.sha256(data).hexdigest() != self.sha256:
            return "SHA-256 differs"
        return None


def replay(doc: dict[str, Any]) -> list[CaseResult]:
    results = [_run("conventions", partial(_check_conventions, doc.get("conventions", {})))]
    for vector in doc["vectors"]:
        name = str(vector.get("name", "?"))
        try:
            expected = _Expected.from_vector(vector)
        except (KeyError, ValueError) as exc:
            results.append(CaseResult(name, False, f"unreadable vector: {exc!r}"))
            continue
        if not vector.get("decode_only"):
            results.append(_run(f"{name}: encode", partial(_encode, vector, expected)))
        if expected.complete:
            results.append(_run(f"{name}: decode", partial(_decode, vector, expected.prefix)))
        else:
            # Large vectors give no full encoding to decode: rebuild it from the node, once the
            # encoding is vouched for by its length and digest.
            results.append(_run(f"{name}: decode", partial(_decode_large, vector, expected)))
        if vector.get("roundtrip_equal") and expected.complete:
            results.append(_run(f"{name}: re-encode", partial(_reencode, expected.prefix)))
    return results


def _run(name: str, check: Callable[[], str | None]) -> CaseResult:
    try:
        problem = check()
    except Exception as exc:  # a crash inside one case is that case's failure
        return CaseResult(name, False, f"raised {exc!r}")
    return CaseResult(name, problem is None, problem or "")


def _check_conventions(conventions: dict[str, Any]) -> str | None:
    problems = [
        f"tag {name} is {value} in the file, {getattr(tags, name, None)} here"
        for name, value in conventions.get("tags", {}).items()
        if getattr(tags, name, None) != value
    ]
    dictionary = conventions.get("dictionary", {})
    if dictionary.get("single_byte_tokens") != len(SINGLE_BYTE_TOKENS):
        problems.append(f"single-byte tokens: file {dictionary.get('single_byte_tokens')}")
    if dictionary.get("double_byte_dictionaries") != [len(d) for d in DOUBLE_BYTE_TOKENS]:
        problems.append(
            f"double-byte dictionaries: file {dictionary.get('double_byte_dictionaries')}"
        )
    if dictionary.get("dict_version") != DICT_VERSION:
        problems.append(f"dictionary version: file {dictionary.get('dict_version')}")
    return "; ".join(problems) or None


def _encode(vector: dict[str, Any], expected: _Expected) -> str | None:
    return expected.mismatch(marshal(_node_from_json(vector["node"])))


def _decode(vector: dict[str, Any], encoded: bytes) -> str | None:
    want = _plain_from_json(vector.get("decoded", vector["node"]))
    got = _plain(unmarshal(encoded))
    return None if got == want else f"decoded {_short(got)}, expected {_short(want)}"


def _decode_large(vector: dict[str, Any], expected: _Expected) -> str | None:
    encoded = marshal(_node_from_json(vector["node"]))
    problem = expected.mismatch(encoded)
    if problem is not None:
        return f"cannot rebuild the encoding to decode: {problem}"
    return _decode(vector, encoded)


def _reencode(encoded: bytes) -> str | None:
    again = marshal(unmarshal(encoded))
    return None if again == encoded else f"re-encoded {_diff(again, encoded)}"


def _content_from_json(content: Any) -> Any:
    if isinstance(content, dict):
        if "hex" in content:
            return bytes.fromhex(content["hex"])
        length = int(content["pattern_len"])
        return (bytes(range(256)) * (length // 256 + 1))[:length]
    return content


def _node_from_json(obj: dict[str, Any]) -> Node:
    content = _content_from_json(obj.get("content"))
    if isinstance(content, list):
        content = [_node_from_json(child) for child in content]
    return Node(obj["tag"], dict(obj.get("attrs", {})), content)


def _plain_from_json(obj: dict[str, Any]) -> Plain:
    content = _content_from_json(obj.get("content"))
    if isinstance(content, list):
        content = [_plain_from_json(child) for child in content]
    return obj["tag"], {k: str(v) for k, v in obj.get("attrs", {}).items()}, content


def _plain(node: Node) -> Plain:
    content: Any = node.content
    if isinstance(content, list):
        content = [_plain(child) for child in content]
    attrs = {k: str(v) if isinstance(v, JID) else v for k, v in node.attrs.items()}
    return node.tag, attrs, content


def _diff(got: bytes, want: bytes) -> str:
    at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None)
    if at is None:
        at = min(len(got), len(want))
    return f"{got[at : at + 16].hex()} at byte {at}, expected {want[at : at + 16].hex()}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "..."
