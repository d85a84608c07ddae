"""The Signal protocol as WhatsApp uses it, wire-compatible with libsignal (pure core).

Layers, bottom up:

- ``curve``, ``kdf``: X25519, libsignal-style signatures, HKDF chains, AES-CBC.
- ``messages``: the four wire messages (msg, pkmsg, skmsg, SKDM), parsed and built.
- ``keys``: identity, registration id, signed prekey, one-time prekeys, bundles.
- ``state`` + ``session``: X3DH and the Double Ratchet as functions record -> (result, record).
- ``group``: sender keys, the same way.
- ``records``: records to versioned bytes and back.
- ``padding``, ``address``: WhatsApp's plaintext padding and session/sender key addressing.
- ``store`` + ``cipher`` (+ ``memory_store``): the async store protocol and the thin adapter that
  loads, runs the core and commits (or returns) the writes.
"""

from daemon.signal.address import ProtocolAddress, SenderKeyName
from daemon.signal.cipher import (
    Decrypted,
    Distribution,
    Encrypted,
    GroupCipher,
    GroupEncrypted,
    SessionCipher,
)
from daemon.signal.curve import KeyPair, generate_key_pair
from daemon.signal.errors import (
    BadMessageSignatureError,
    CorruptRecordError,
    DecryptionError,
    DuplicateMessageError,
    InvalidKeyError,
    InvalidMacError,
    InvalidMessageError,
    InvalidPaddingError,
    InvalidSignatureError,
    InvalidVersionError,
    MissingPreKeyError,
    NoSenderKeyError,
    NoSessionError,
    NoSessionForMessageError,
    SignalError,
    TooFarInFutureError,
    UntrustedIdentityError,
)
from daemon.signal.group import SenderKeyRecord, SenderKeyState
from daemon.signal.keys import (
    KeyPairSource,
    PreKey,
    PreKeyBundle,
    SignedPreKey,
    generate_identity_key_pair,
    generate_prekeys,
    generate_registration_id,
    generate_signed_prekey,
    next_prekey_id,
)
from daemon.signal.memory_store import InMemorySignalStore
from daemon.signal.padding import pad, unpad
from daemon.signal.session import EncryptedMessage, EncType, PreKeyDecryptResult
from daemon.signal.state import SessionRecord, SessionState
from daemon.signal.store import Direction, SignalStore, StoreChanges

__all__ = [
    "BadMessageSignatureError",
    "CorruptRecordError",
    "Decrypted",
    "DecryptionError",
    "Direction",
    "Distribution",
    "DuplicateMessageError",
    "EncType",
    "Encrypted",
    "EncryptedMessage",
    "GroupCipher",
    "GroupEncrypted",
    "InMemorySignalStore",
    "InvalidKeyError",
    "InvalidMacError",
    "InvalidMessageError",
    "InvalidPaddingError",
    "InvalidSignatureError",
    "InvalidVersionError",
    "KeyPair",
    "KeyPairSource",
    "MissingPreKeyError",
    "NoSenderKeyError",
    "NoSessionError",
    "NoSessionForMessageError",
    "PreKey",
    "PreKeyBundle",
    "PreKeyDecryptResult",
    "ProtocolAddress",
    "SenderKeyName",
    "SenderKeyRecord",
    "SenderKeyState",
    "SessionCipher",
    "SessionRecord",
    "SessionState",
    "SignalError",
    "SignalStore",
    "SignedPreKey",
    "StoreChanges",
    "TooFarInFutureError",
    "UntrustedIdentityError",
    "generate_identity_key_pair",
    "generate_key_pair",
    "generate_prekeys",
    "generate_registration_id",
    "generate_signed_prekey",
    "next_prekey_id",
    "pad",
    "unpad",
]
