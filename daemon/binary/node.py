"""The binary node: WhatsApp's XML-like stanza (tag, attributes, content)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from daemon.binary.errors import AttrError, JIDError
from daemon.binary.jid import JID

__all__ = ["AttrValue", "Content", "Node"]

AttrValue: TypeAlias = "str | JID"
Content: TypeAlias = "bytes | str | list[Node] | None"

_MAX_INT_DIGITS = 20  # enough for any 64-bit value; attributes never carry bigger numbers


@dataclass(frozen=True, slots=True)
class Node:
    """One stanza.

    ``content`` is ``None`` (no content), ``bytes`` (BINARY_* payloads), a ``str`` (the decoder
    gives token, packed and JID content as text, the way Baileys does) or a list of child nodes.
    Attribute values are ``str`` or ``JID``; the decoder gives JID-encoded values as ``JID``.
    """

    tag: str
    attrs: Mapping[str, AttrValue] = field(default_factory=dict)
    content: Content = None

    @property
    def children(self) -> list[Node]:
        """The child nodes, or an empty list when the content is not a list."""
        content = self.content
        return content if isinstance(content, list) else []

    def child(self, *path: str) -> Node | None:
        """The first child with the given tag; more tags walk down: ``child("usync", "list")``."""
        node: Node | None = self
        for tag in path:
            if node is None:
                return None
            node = next((c for c in node.children if c.tag == tag), None)
        return node

    def children_by_tag(self, tag: str) -> list[Node]:
        return [c for c in self.children if c.tag == tag]

    def content_bytes(self) -> bytes | None:
        """Content as bytes: binary payloads as they are, text content as its UTF-8 bytes."""
        content = self.content
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode("utf-8", "surrogateescape")
        return None

    def attr_str(self, key: str) -> str | None:
        """The attribute as text (a JID value in its string form); None when absent."""
        value = self.attrs.get(key)
        return None if value is None else str(value)

    def attr_jid(self, key: str) -> JID | None:
        """The attribute as a JID (text values are parsed); None when absent."""
        value = self.attrs.get(key)
        if value is None or isinstance(value, JID):
            return value
        try:
            return JID.parse(value)
        except JIDError as exc:
            raise AttrError(self.tag, key, str(exc)) from None

    def attr_int(self, key: str) -> int | None:
        """The attribute as a decimal integer; None when absent."""
        value = self.attrs.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            digits = value[1:] if value[:1] == "-" else value
            if 0 < len(digits) <= _MAX_INT_DIGITS and digits.isascii() and digits.isdigit():
                return int(value)
        raise AttrError(self.tag, key, f"expected a decimal integer, got {value!r}")
