"""A device's long-lived keys: made exactly once per identity, loaded ever after.

``new_device_keys`` is pure (give it a random source to replay it). ``load_credentials`` and
``credentials_for_pairing`` are the only ways the client obtains credentials, and they encode the
rule that identity is sacred: a damaged row is an :class:`AuthStateError`; a session that was
logged in once and has lost its live credentials is an :class:`AuthStateError`, never an
occasion to mint new keys. New keys are minted only by an explicit pairing request, and are
written in one statement (the repository refuses to overwrite a live identity).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from daemon.client.errors import AlreadyPaired, AuthStateError, NotPaired
from daemon.signal import keys as signal_keys
from daemon.signal.curve import KeyPair as SignalKeyPair
from daemon.signal.curve import generate_key_pair
from storage.errors import CorruptAuthState, IdentityExists
from storage.interfaces import AuthStore
from storage.values import DeviceCredentials, DeviceKeys, KeyPair, SignedPreKey

SIGNED_PREKEY_ID = 1
ADV_SECRET_SIZE = 32


def _stored(pair: SignalKeyPair) -> KeyPair:
    return KeyPair(private=pair.private, public=pair.public)


def new_device_keys(
    new_key_pair: Callable[[], SignalKeyPair] = generate_key_pair,
    random_bytes: Callable[[int], bytes] = os.urandom,
    randbelow: Callable[[int], int] | None = None,
) -> DeviceKeys:
    """Noise key, identity key, registration id, signed prekey 1 and the ADV secret."""
    noise = new_key_pair()
    identity = signal_keys.generate_identity_key_pair(new_key_pair)
    registration_id = (
        signal_keys.generate_registration_id()
        if randbelow is None
        else signal_keys.generate_registration_id(randbelow)
    )
    signed = signal_keys.generate_signed_prekey(identity, SIGNED_PREKEY_ID, new_key_pair)
    return DeviceKeys(
        noise=_stored(noise),
        identity=_stored(identity),
        registration_id=registration_id,
        signed_prekey=SignedPreKey(
            key_id=signed.key_id, key_pair=_stored(signed.key_pair), signature=signed.signature
        ),
        adv_secret=random_bytes(ADV_SECRET_SIZE),
    )


async def _live(store: AuthStore, session_id: str) -> DeviceCredentials | None:
    try:
        return await store.credentials.load(session_id)
    except CorruptAuthState as exc:
        raise AuthStateError(
            session_id,
            f"stored credentials are damaged ({exc.detail}); refusing to replace the identity",
        ) from exc


async def _check_not_vanished(store: AuthStore, session_id: str) -> None:
    """A session that logged in since its last retirement must still have live credentials."""
    row = await store.sessions.get(session_id)
    if row is None or row.last_connected_at is None:
        return
    retirements = [c.logged_out_at for c in await store.credentials.history(session_id)]
    last_retired = max((at for at in retirements if at is not None), default=None)
    if last_retired is None or row.last_connected_at > last_retired:
        raise AuthStateError(
            session_id,
            "the session was logged in but its credentials are gone; "
            "refusing to create a new identity silently (pair again explicitly after a logout)",
        )


async def load_credentials(store: AuthStore, session_id: str) -> DeviceCredentials:
    """The paired credentials a login needs. Raises NotPaired or AuthStateError."""
    credentials = await _live(store, session_id)
    if credentials is None:
        await _check_not_vanished(store, session_id)
        raise NotPaired(f"session {session_id!r} has no paired identity; pair it first")
    if not credentials.is_paired:
        raise NotPaired(f"session {session_id!r} is not paired yet; finish pairing first")
    return credentials


async def credentials_for_pairing(
    store: AuthStore,
    session_id: str,
    make_keys: Callable[[], DeviceKeys] = new_device_keys,
) -> DeviceCredentials:
    """Unpaired credentials to register with: the stored ones when a pairing was interrupted
    (same identity, so a crash never yields a new one), else freshly made and stored."""
    credentials = await _live(store, session_id)
    if credentials is not None:
        if credentials.is_paired:
            raise AlreadyPaired(
                f"session {session_id!r} is already paired; log out before pairing again"
            )
        return credentials
    await _check_not_vanished(store, session_id)
    try:
        return await store.credentials.save_new(session_id, make_keys())
    except IdentityExists as exc:
        # Another writer stored an identity between our read and our write: use theirs.
        existing = await _live(store, session_id)
        if existing is None:
            raise AuthStateError(session_id, f"identity could not be stored: {exc}") from exc
        if existing.is_paired:
            raise AlreadyPaired(f"session {session_id!r} is already paired") from exc
        return existing
