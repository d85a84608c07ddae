"""A pairing QR as PNG or SVG.

The ``qrcode`` package computes the modules; SVG comes from its own ``qrcode.image.svg``. Its PNG
writer needs PyPNG or Pillow, so the PNG is written here instead: a 1-bit grayscale image is
a signature, an IHDR chunk, one zlib-compressed IDAT of filter-0 scanlines and an IEND — about
twenty lines, not worth a dependency.
"""

from __future__ import annotations

import io
import struct
import zlib

import qrcode
import qrcode.image.svg

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_SCALE = 8
BORDER = 4
"""The quiet zone the QR standard asks for, in modules."""


def modules(text: str) -> list[list[bool]]:
    """The QR's dark (True) and light modules, quiet zone included."""
    code = qrcode.QRCode(border=BORDER, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    return matrix


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_from_modules(matrix: list[list[bool]], scale: int = DEFAULT_SCALE) -> bytes:
    """A 1-bit grayscale PNG, each module ``scale`` pixels square (dark = 0, light = 1)."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    size = len(matrix) * scale
    rows = bytearray()
    for line in matrix:
        bits = 0
        count = 0
        packed = bytearray()
        for dark in line:
            for _ in range(scale):
                bits = (bits << 1) | (0 if dark else 1)
                count += 1
                if count == 8:
                    packed.append(bits)
                    bits = count = 0
        if count:
            packed.append(bits << (8 - count))
        scanline = b"\x00" + bytes(packed)
        rows += scanline * scale
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def png(text: str, scale: int = DEFAULT_SCALE) -> bytes:
    return png_from_modules(modules(text), scale)


def svg(text: str) -> bytes:
    image = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        border=BORDER,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


__all__ = ["modules", "png", "png_from_modules", "svg"]
