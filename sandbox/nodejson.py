"""Stanzas as JSON for the admin API: ``{"tag", "attrs", "content"}``.

Attribute values are strings (JIDs in their string form); content is a list of nodes, a string,
or ``{"base64": ...}`` for bytes.
"""

from __future__ import annotations

import base64
from typing import Any

from daemon.binary import Node


def node_to_json(node: Node) -> dict[str, Any]:
    content: Any = None
    if isinstance(node.content, list):
        content = [node_to_json(child) for child in node.content]
    elif isinstance(node.content, bytes):
        content = {"base64": base64.b64encode(node.content).decode()}
    elif isinstance(node.content, str):
        content = node.content
    return {
        "tag": node.tag,
        "attrs": {key: str(value) for key, value in node.attrs.items()},
        "content": content,
    }
