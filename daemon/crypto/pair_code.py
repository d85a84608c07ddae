"""Phone-number pairing ("link code") crypto, both the companion's side and the phone's side.

The companion shows an 8-character code; the user types it on the phone. Neither side sends the
code: each wraps its ephemeral public key with a key stretched from the code (PBKDF2-SHA256,
131072 rounds, AES-256-CTR), so only someone who saw the code can unwrap it. After the exchange
the companion proves its identity key inside an AES-GCM bundle and both sides derive the new
ADV secret, which replaces the one a QR would have carried.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from daemon.crypto.curve import KeyPair, shared_secret

# Crockford-like base32 without 0, O, I and U, as WhatsApp's phones expect it.
CODE_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
CODE_LENGTH = 8
PBKDF2_ROUNDS = 2 << 16
WRAPPED_KEY_LENGTH = 80
BUNDLE_INFO = b"link_code_pairing_key_bundle_encryption_key"
ADV_SECRET_INFO = b"adv_secret"

RandomBytes = Callable[[int], bytes]


class PairCodeError(ValueError):
    """Malformed pairing material, a wrong code, or a bundle that does not decrypt."""


def new_code(random_bytes: RandomBytes = os.urandom) -> str:
    """Eight characters from five random bytes (40 bits = 8 base32 digits)."""
    value = int.from_bytes(random_bytes(5), "big")
    return "".join(CODE_ALPHABET[(value >> shift) & 31] for shift in range(35, -1, -5))


def normalize_code(code: str) -> str:
    cleaned = code.replace("-", "").replace(" ", "").upper()
    if len(cleaned) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in cleaned):
        raise PairCodeError(f"a pairing code is {CODE_LENGTH} characters from {CODE_ALPHABET}")
    return cleaned


def display_code(code: str) -> str:
    code = normalize_code(code)
    return f"{code[:4]}-{code[4:]}"


def _code_key(code: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", normalize_code(code).encode(), salt, PBKDF2_ROUNDS, 32)


def _ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def wrap_ephemeral(code: str, public: bytes, random_bytes: RandomBytes = os.urandom) -> bytes:
    """salt(32) || iv(16) || AES-CTR(PBKDF2(code, salt), iv, public)."""
    if len(public) != 32:
        raise PairCodeError("an ephemeral public key is 32 bytes")
    salt, iv = random_bytes(32), random_bytes(16)
    return salt + iv + _ctr(_code_key(code, salt), iv, public)


def unwrap_ephemeral(code: str, wrapped: bytes) -> bytes:
    if len(wrapped) < WRAPPED_KEY_LENGTH:
        raise PairCodeError(f"a wrapped ephemeral key is {WRAPPED_KEY_LENGTH} bytes")
    salt, iv, body = wrapped[:32], wrapped[32:48], wrapped[48:80]
    return _ctr(_code_key(code, salt), iv, body)


def _hkdf(ikm: bytes, salt: bytes | None, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


@dataclass(frozen=True, slots=True)
class CompanionFinish:
    """What the companion sends in stage ``companion_finish``, and the secret it keeps."""

    wrapped_key_bundle: bytes
    companion_identity_public: bytes
    adv_secret: bytes


def companion_finish(
    code: str,
    companion_ephemeral: KeyPair,
    companion_identity: KeyPair,
    wrapped_primary_ephemeral: bytes,
    primary_identity_public: bytes,
    random_bytes: RandomBytes = os.urandom,
) -> CompanionFinish:
    """The companion's reaction to the phone's ``link_code_companion_reg`` notification."""
    if len(primary_identity_public) != 32:
        raise PairCodeError("primary_identity_pub is 32 bytes")
    primary_ephemeral = unwrap_ephemeral(code, wrapped_primary_ephemeral)
    ephemeral_shared = shared_secret(companion_ephemeral.private, primary_ephemeral)
    adv_random, bundle_salt, nonce = random_bytes(32), random_bytes(32), random_bytes(12)
    bundle_key = _hkdf(ephemeral_shared, bundle_salt, BUNDLE_INFO)
    plaintext = companion_identity.public + primary_identity_public + adv_random
    sealed = AESGCM(bundle_key).encrypt(nonce, plaintext, None)
    identity_shared = shared_secret(companion_identity.private, primary_identity_public)
    adv_secret = _hkdf(ephemeral_shared + identity_shared + adv_random, None, ADV_SECRET_INFO)
    return CompanionFinish(bundle_salt + nonce + sealed, companion_identity.public, adv_secret)


@dataclass(frozen=True, slots=True)
class PrimaryResult:
    companion_identity_public: bytes
    adv_secret: bytes


def primary_open_bundle(
    primary_ephemeral: KeyPair,
    primary_identity: KeyPair,
    companion_ephemeral_public: bytes,
    wrapped_key_bundle: bytes,
    companion_identity_public: bytes,
) -> PrimaryResult:
    """The phone's side of ``companion_finish``: checks the bundle and derives the ADV secret."""
    if len(wrapped_key_bundle) < 32 + 12 + 16 + 96:
        raise PairCodeError("the wrapped key bundle is too short")
    salt, nonce, sealed = (
        wrapped_key_bundle[:32],
        wrapped_key_bundle[32:44],
        wrapped_key_bundle[44:],
    )
    ephemeral_shared = shared_secret(primary_ephemeral.private, companion_ephemeral_public)
    try:
        plaintext = AESGCM(_hkdf(ephemeral_shared, salt, BUNDLE_INFO)).decrypt(nonce, sealed, None)
    except InvalidTag:
        raise PairCodeError("the key bundle does not decrypt: wrong code or tampered") from None
    if len(plaintext) != 96:
        raise PairCodeError("the key bundle has the wrong length")
    companion_identity, primary_identity_public, adv_random = (
        plaintext[:32],
        plaintext[32:64],
        plaintext[64:],
    )
    if companion_identity != companion_identity_public:
        raise PairCodeError("the bundle names another companion identity")
    if primary_identity_public != primary_identity.public:
        raise PairCodeError("the bundle names another primary identity")
    identity_shared = shared_secret(primary_identity.private, companion_identity)
    adv_secret = _hkdf(ephemeral_shared + identity_shared + adv_random, None, ADV_SECRET_INFO)
    return PrimaryResult(companion_identity, adv_secret)


def encode_adv_secret(secret: bytes) -> str:
    return base64.b64encode(secret).decode()
