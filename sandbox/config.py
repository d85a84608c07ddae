"""How a sandbox runs: where it listens, where it keeps its state, what it does on its own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_AUTO_SCAN_ADV_SECRET = bytes(32)
"""The ADV secret auto-scan signs with. A server never sees a client's QR, so auto-scan can only
work for clients configured with a known secret; all zero bytes is what Baileys' own end-to-end
harness forces (``ADV_SECRET_KEY``)."""


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    state_dir: Path
    """Keys, certificates and the SQLite database; created on first start."""
    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port; the server reports the real one."""
    tls: bool = False
    """Serve wss:// and https:// with a self-signed certificate for the host."""
    auto_scan: bool = False
    """Have a phone scan every new registration at once (see DEFAULT_AUTO_SCAN_ADV_SECRET)."""
    auto_scan_adv_secret: bytes = DEFAULT_AUTO_SCAN_ADV_SECRET
    handshake_timeout: float = 20.0
    """Seconds a client has to finish the Noise handshake."""
