"""The console's static files, read once from the package and served with a content hash.

The page links each asset as ``/console/assets/<name>?v=<hash>``, so a browser may cache an
asset for a long time and still never runs a stale one after an upgrade.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    body: bytes
    content_type: str
    digest: str
    """The first 12 hex digits of the body's SHA-256 (the cache-busting version)."""


def _content_type(name: str) -> str | None:
    for suffix, kind in CONTENT_TYPES.items():
        if name.endswith(suffix):
            return kind
    return None


@cache
def assets() -> dict[str, Asset]:
    """Every shipped asset by file name (``static/`` has no subfolders)."""
    found: dict[str, Asset] = {}
    for entry in resources.files("http_api.console").joinpath("static").iterdir():
        kind = _content_type(entry.name)
        if kind is None or not entry.is_file():
            continue
        body = entry.read_bytes()
        digest = hashlib.sha256(body).hexdigest()[:12]
        found[entry.name] = Asset(entry.name, body, kind, digest)
    return found


@cache
def template(name: str) -> str:
    return resources.files("http_api.console").joinpath("templates", name).read_text("utf-8")


def url(name: str) -> str:
    return f"/console/assets/{name}?v={assets()[name].digest}"


__all__ = ["Asset", "assets", "template", "url"]
