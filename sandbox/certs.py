"""The sandbox's keys: its own certificate root, the Noise chain, and an optional TLS certificate.

Generated on first start and kept in the state directory, so clients told to trust the root
(``root.pub``, hex) keep trusting it across restarts:

* ``noise_keys.json``: root, intermediate and server static private keys (hex);
* ``root.pub``: the root public key, hex, for clients (Baileys: ``WA_CERT_DETAILS.PUBLIC_KEY``);
* ``tls.crt`` / ``tls.key``: a self-signed certificate for the listen host (only with TLS).

The Noise chain is re-issued at every start with a fresh validity window, signed by the kept
root and intermediate.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from daemon.crypto.curve import KeyPair
from daemon.wire.certs import build_cert_chain

KEYS_FILE = "noise_keys.json"
ROOT_PUB_FILE = "root.pub"
TLS_CERT_FILE = "tls.crt"
TLS_KEY_FILE = "tls.key"

_CHAIN_BACKDATE = 24 * 3600
_CHAIN_LIFETIME = 365 * 24 * 3600


class CertsError(Exception):
    """The state directory holds unusable key material."""


@dataclass(frozen=True, slots=True)
class ServerKeys:
    root: KeyPair
    intermediate: KeyPair
    static: KeyPair
    """The Noise static key; the leaf certificate carries its public half."""

    @property
    def root_public(self) -> bytes:
        return self.root.public

    def cert_chain(self, now: int) -> bytes:
        return build_cert_chain(
            root_private=self.root.private,
            intermediate=self.intermediate,
            leaf_key=self.static.public,
            not_before=now - _CHAIN_BACKDATE,
            not_after=now + _CHAIN_LIFETIME,
        )


def load_or_create_keys(state_dir: Path) -> ServerKeys:
    path = state_dir / KEYS_FILE
    if path.exists():
        try:
            data = json.loads(path.read_text())
            keys = ServerKeys(
                root=KeyPair.from_private(bytes.fromhex(data["root"])),
                intermediate=KeyPair.from_private(bytes.fromhex(data["intermediate"])),
                static=KeyPair.from_private(bytes.fromhex(data["static"])),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CertsError(f"{path} is not a sandbox key file: {exc}") from exc
    else:
        keys = ServerKeys(KeyPair.generate(), KeyPair.generate(), KeyPair.generate())
        payload = {
            "root": keys.root.private.hex(),
            "intermediate": keys.intermediate.private.hex(),
            "static": keys.static.private.hex(),
        }
        _write_private(path, json.dumps(payload, indent=2) + "\n")
    (state_dir / ROOT_PUB_FILE).write_text(keys.root_public.hex() + "\n")
    return keys


def load_or_create_tls(state_dir: Path, host: str) -> ssl.SSLContext:
    """A server SSLContext with the kept self-signed certificate (made for ``host``)."""
    cert_path, key_path = state_dir / TLS_CERT_FILE, state_dir / TLS_KEY_FILE
    if not (cert_path.exists() and key_path.exists()):
        cert_pem, key_pem = _self_signed(host)
        _write_private(key_path, key_pem.decode())
        cert_path.write_bytes(cert_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


def _self_signed(host: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    alt_names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt_names.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
