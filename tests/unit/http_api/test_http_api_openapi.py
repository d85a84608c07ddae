"""The OpenAPI document and its validator: the document is well formed, matches the route
table both ways, and the validator catches what it claims to."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from http_rig import running_api

from http_api import qr_image
from http_api.openapi import document
from http_api.openapi_check import SchemaViolation, check_document, match_path, validate
from http_api.routes import ROUTES

DOC = document()


def test_the_document_is_consistent() -> None:
    assert DOC["openapi"] == "3.1.0"
    assert check_document(DOC) == []


def test_routes_and_documented_operations_are_the_same_set() -> None:
    routed = {(method.lower(), path) for method, path, _handler in ROUTES}
    documented = {
        (method, path)
        for path, item in DOC["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert routed == documented


def test_only_health_is_open() -> None:
    open_operations = [
        (path, method)
        for path, item in DOC["paths"].items()
        for method, operation in item.items()
        if method != "parameters" and operation.get("security") == []
    ]
    assert open_operations == [("/health", "get")]


def test_the_validator_catches_what_it_should() -> None:
    schema = DOC["components"]["schemas"]["Health"]
    good = {
        "status": "ok",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "uptime": 1.5,
        "sessions": {"total": 1, "connected": 1, "connecting": 0, "disconnected": 0},
        "fleet": None,
    }
    assert validate(DOC, schema, good) == []
    fleet = {
        "nodeId": "a",
        "share": 2,
        "sessions": 1,
        "lastRoundAt": None,
        "members": [
            {
                "nodeId": "a",
                "url": "http://10.0.0.1:8080",
                "sessions": 1,
                "leaving": False,
                "heartbeatAt": "2026-01-01T00:00:00.000Z",
            }
        ],
        "roles": {"webhooks": "a"},
    }
    assert validate(DOC, schema, {**good, "fleet": fleet}) == []
    assert validate(DOC, schema, {**good, "fleet": {**fleet, "roles": {"webhooks": 1}}})
    assert validate(DOC, schema, {**good, "status": "fine"})
    assert validate(DOC, schema, {**good, "timestamp": "yesterday"})
    assert validate(DOC, schema, {**good, "extra": 1})
    missing = {k: v for k, v in good.items() if k != "uptime"}
    assert "missing required property 'uptime'" in validate(DOC, schema, missing)[0]
    assert validate(DOC, schema, {**good, "sessions": {**good["sessions"], "total": -1}})
    assert validate(DOC, schema, {**good, "uptime": True})  # a boolean is not a number
    with pytest.raises(SchemaViolation):
        validate(DOC, {"type": "string", "exclusiveMinimum": 3}, "x")  # unknown keyword


def test_paths_match_templates() -> None:
    assert match_path(DOC, "/sessions/abc/chats/1@s.whatsapp.net/messages") == (
        "/sessions/{id}/chats/{jid}/messages"
    )
    with pytest.raises(SchemaViolation):
        match_path(DOC, "/sessions/abc/nothing")


async def test_the_served_document_is_this_one(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        reply = await rig.call("GET", "/openapi.json")
        assert reply.body == DOC


def png_modules(data: bytes) -> tuple[int, list[bytes]]:
    """Parses our PNG back: its size and its unfiltered scanlines."""
    assert data[:8] == qr_image.PNG_SIGNATURE
    offset, idat, width = 8, b"", 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert (width, depth, color) == (height, 1, 0)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + (width + 7) // 8
    lines = [raw[i : i + stride] for i in range(0, len(raw), stride)]
    assert all(line[0] == 0 for line in lines)  # filter type 0
    return width, [line[1:] for line in lines]


def test_png_pixels_are_the_qr_modules() -> None:
    matrix = qr_image.modules("https://wa.me/settings/linked_devices#ref,a,b,c,1")
    scale = 3
    width, lines = png_modules(qr_image.png_from_modules(matrix, scale))
    assert width == len(matrix) * scale
    for y, row in enumerate(matrix):
        line = lines[y * scale]
        for x, dark in enumerate(row):
            pixel = x * scale
            bit = (line[pixel // 8] >> (7 - pixel % 8)) & 1
            assert bit == (0 if dark else 1)
    with pytest.raises(ValueError):
        qr_image.png_from_modules(matrix, 0)


def test_svg_is_an_svg() -> None:
    text = qr_image.svg("hello").decode()
    assert "<svg" in text and "</svg>" in text and "<path" in text
