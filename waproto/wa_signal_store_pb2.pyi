from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChainKey(_message.Message):
    __slots__ = ("key", "index")
    KEY_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    index: int
    def __init__(self, key: _Optional[bytes] = ..., index: _Optional[int] = ...) -> None: ...

class SkippedKey(_message.Message):
    __slots__ = ("index", "seed")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    index: int
    seed: bytes
    def __init__(self, index: _Optional[int] = ..., seed: _Optional[bytes] = ...) -> None: ...

class ReceiverChain(_message.Message):
    __slots__ = ("ratchetKey", "chainKey", "skipped")
    RATCHETKEY_FIELD_NUMBER: _ClassVar[int]
    CHAINKEY_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    ratchetKey: bytes
    chainKey: ChainKey
    skipped: _containers.RepeatedCompositeFieldContainer[SkippedKey]
    def __init__(self, ratchetKey: _Optional[bytes] = ..., chainKey: _Optional[_Union[ChainKey, _Mapping]] = ..., skipped: _Optional[_Iterable[_Union[SkippedKey, _Mapping]]] = ...) -> None: ...

class PendingPreKey(_message.Message):
    __slots__ = ("preKeyId", "signedPreKeyId", "baseKey")
    PREKEYID_FIELD_NUMBER: _ClassVar[int]
    SIGNEDPREKEYID_FIELD_NUMBER: _ClassVar[int]
    BASEKEY_FIELD_NUMBER: _ClassVar[int]
    preKeyId: int
    signedPreKeyId: int
    baseKey: bytes
    def __init__(self, preKeyId: _Optional[int] = ..., signedPreKeyId: _Optional[int] = ..., baseKey: _Optional[bytes] = ...) -> None: ...

class SessionState(_message.Message):
    __slots__ = ("localIdentity", "remoteIdentity", "localRegistrationId", "remoteRegistrationId", "baseKey", "initiatedByUs", "rootKey", "senderRatchetPublic", "senderRatchetPrivate", "sendingChain", "previousCounter", "receiverChains", "pendingPreKey")
    LOCALIDENTITY_FIELD_NUMBER: _ClassVar[int]
    REMOTEIDENTITY_FIELD_NUMBER: _ClassVar[int]
    LOCALREGISTRATIONID_FIELD_NUMBER: _ClassVar[int]
    REMOTEREGISTRATIONID_FIELD_NUMBER: _ClassVar[int]
    BASEKEY_FIELD_NUMBER: _ClassVar[int]
    INITIATEDBYUS_FIELD_NUMBER: _ClassVar[int]
    ROOTKEY_FIELD_NUMBER: _ClassVar[int]
    SENDERRATCHETPUBLIC_FIELD_NUMBER: _ClassVar[int]
    SENDERRATCHETPRIVATE_FIELD_NUMBER: _ClassVar[int]
    SENDINGCHAIN_FIELD_NUMBER: _ClassVar[int]
    PREVIOUSCOUNTER_FIELD_NUMBER: _ClassVar[int]
    RECEIVERCHAINS_FIELD_NUMBER: _ClassVar[int]
    PENDINGPREKEY_FIELD_NUMBER: _ClassVar[int]
    localIdentity: bytes
    remoteIdentity: bytes
    localRegistrationId: int
    remoteRegistrationId: int
    baseKey: bytes
    initiatedByUs: bool
    rootKey: bytes
    senderRatchetPublic: bytes
    senderRatchetPrivate: bytes
    sendingChain: ChainKey
    previousCounter: int
    receiverChains: _containers.RepeatedCompositeFieldContainer[ReceiverChain]
    pendingPreKey: PendingPreKey
    def __init__(self, localIdentity: _Optional[bytes] = ..., remoteIdentity: _Optional[bytes] = ..., localRegistrationId: _Optional[int] = ..., remoteRegistrationId: _Optional[int] = ..., baseKey: _Optional[bytes] = ..., initiatedByUs: _Optional[bool] = ..., rootKey: _Optional[bytes] = ..., senderRatchetPublic: _Optional[bytes] = ..., senderRatchetPrivate: _Optional[bytes] = ..., sendingChain: _Optional[_Union[ChainKey, _Mapping]] = ..., previousCounter: _Optional[int] = ..., receiverChains: _Optional[_Iterable[_Union[ReceiverChain, _Mapping]]] = ..., pendingPreKey: _Optional[_Union[PendingPreKey, _Mapping]] = ...) -> None: ...

class SessionRecord(_message.Message):
    __slots__ = ("current", "previous")
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    current: SessionState
    previous: _containers.RepeatedCompositeFieldContainer[SessionState]
    def __init__(self, current: _Optional[_Union[SessionState, _Mapping]] = ..., previous: _Optional[_Iterable[_Union[SessionState, _Mapping]]] = ...) -> None: ...

class SenderKeyState(_message.Message):
    __slots__ = ("keyId", "chainKey", "signingPublic", "signingPrivate", "skipped")
    KEYID_FIELD_NUMBER: _ClassVar[int]
    CHAINKEY_FIELD_NUMBER: _ClassVar[int]
    SIGNINGPUBLIC_FIELD_NUMBER: _ClassVar[int]
    SIGNINGPRIVATE_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    keyId: int
    chainKey: ChainKey
    signingPublic: bytes
    signingPrivate: bytes
    skipped: _containers.RepeatedCompositeFieldContainer[SkippedKey]
    def __init__(self, keyId: _Optional[int] = ..., chainKey: _Optional[_Union[ChainKey, _Mapping]] = ..., signingPublic: _Optional[bytes] = ..., signingPrivate: _Optional[bytes] = ..., skipped: _Optional[_Iterable[_Union[SkippedKey, _Mapping]]] = ...) -> None: ...

class SenderKeyRecord(_message.Message):
    __slots__ = ("states",)
    STATES_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedCompositeFieldContainer[SenderKeyState]
    def __init__(self, states: _Optional[_Iterable[_Union[SenderKeyState, _Mapping]]] = ...) -> None: ...

class PreKeyRecord(_message.Message):
    __slots__ = ("id", "publicKey", "privateKey")
    ID_FIELD_NUMBER: _ClassVar[int]
    PUBLICKEY_FIELD_NUMBER: _ClassVar[int]
    PRIVATEKEY_FIELD_NUMBER: _ClassVar[int]
    id: int
    publicKey: bytes
    privateKey: bytes
    def __init__(self, id: _Optional[int] = ..., publicKey: _Optional[bytes] = ..., privateKey: _Optional[bytes] = ...) -> None: ...

class SignedPreKeyRecord(_message.Message):
    __slots__ = ("id", "publicKey", "privateKey", "signature")
    ID_FIELD_NUMBER: _ClassVar[int]
    PUBLICKEY_FIELD_NUMBER: _ClassVar[int]
    PRIVATEKEY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    id: int
    publicKey: bytes
    privateKey: bytes
    signature: bytes
    def __init__(self, id: _Optional[int] = ..., publicKey: _Optional[bytes] = ..., privateKey: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...
