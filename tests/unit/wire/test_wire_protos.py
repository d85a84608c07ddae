"""Our handshake protos map 1:1 onto protobufjs views of what Baileys sends, and importing the
pure wire cores pulls in no I/O machinery."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict, ParseDict

from waproto import wa_cert_pb2, wa_handshake_pb2


def _payload_views(vectors_dir: Path) -> list[dict[str, Any]]:
    noise = json.loads((vectors_dir / "noise.json").read_text(encoding="utf-8"))
    live = json.loads((vectors_dir / "baileys_live_trace.json").read_text(encoding="utf-8"))
    return [noise["client_payload_decoded"]] + [c["client_payload"] for c in live["connections"]]


def test_baileys_client_payloads_round_trip_through_our_schema(vectors_dir: Path) -> None:
    views = _payload_views(vectors_dir)
    assert len(views) >= 3
    for view in views:
        message = ParseDict(view, wa_handshake_pb2.ClientPayload())
        again = wa_handshake_pb2.ClientPayload.FromString(message.SerializeToString())
        assert MessageToDict(again, preserving_proto_field_name=True) == view


def test_login_payload_field_numbers() -> None:
    payload = wa_handshake_pb2.ClientPayload(
        username=15551234567, passive=True, device=5, pull=True, lidDbMigrated=False
    )
    raw = payload.SerializeToString()
    # username=1 (varint), passive=3, device=18, pull=33, lidDbMigrated=41
    assert raw.startswith(b"\x08")
    assert b"\x18\x01" in raw
    assert b"\x90\x01\x05" in raw
    assert b"\x88\x02\x01" in raw
    assert b"\xc8\x02\x00" in raw


def test_cert_chain_field_numbers() -> None:
    details = wa_cert_pb2.CertChain.NoiseCertificate.Details(
        serial=1, issuerSerial=2, key=b"k", notBefore=3, notAfter=4
    )
    assert details.SerializeToString() == b"\x08\x01\x10\x02\x1a\x01k\x20\x03\x28\x04"
    legacy = wa_cert_pb2.LegacyNoiseCertificate.Details(
        serial=1, issuer="i", expires=2, subject="s", key=b"k"
    )
    assert legacy.SerializeToString() == b"\x08\x01\x12\x01i\x18\x02\x22\x01s\x2a\x01k"


def test_pure_cores_import_without_asyncio_or_websockets() -> None:
    code = (
        "import sys, daemon.wire, daemon.wire.noise, daemon.wire.certs, daemon.crypto.curve;"
        "print(sorted({'asyncio', 'websockets', 'socket'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
