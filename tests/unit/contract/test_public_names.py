"""The names ARCHITECTURE.md promises ("Names other code and tests rely on")."""

from __future__ import annotations

import pytest

import daemon.binary as binary
from daemon.cli import build_parser


def test_binary_exports() -> None:
    for name in ("Node", "JID", "marshal", "unmarshal", "DecodeError"):
        assert name in binary.__all__
        assert hasattr(binary, name)
    node = binary.Node("iq", {"to": binary.JID.parse("@s.whatsapp.net")})
    frame = binary.marshal(node)
    assert frame[0] == 0  # the leading flag byte
    assert binary.unmarshal(frame) == node
    with pytest.raises(binary.DecodeError):
        binary.unmarshal(b"\x00\xf8")


@pytest.mark.parametrize(
    "argv",
    [
        ["vectors", "check", "x.json"],
        ["run"],
        ["pair", "sales"],
        ["sessions"],
        ["send", "sales", "+15551234567", "hi"],
        ["sandbox"],
        ["demo"],
        ["status"],
    ],
)
def test_cli_subcommands_exist(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert callable(args.func)
