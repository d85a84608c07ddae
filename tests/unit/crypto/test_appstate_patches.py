"""App-state patches and snapshots: Baileys-encoded patches decode to Baileys' states, our encoder
round-trips, and each kind of tampering is caught by the MAC that covers it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.crypto import lthash
from daemon.crypto.appstate import (
    ALL_COLLECTIONS,
    AppStateDecodeError,
    AppStateError,
    AppStateKeyMissing,
    AppStateMacMismatch,
    CollectionState,
    MacKind,
    Operation,
    PendingMutation,
    SyncActionValue,
    decode_patch,
    decode_snapshot,
    encode_index,
    encode_patch,
    encode_snapshot,
    seal_snapshot,
    with_external_mutations,
)
from waproto import wa_appstate_pb2

VECTOR: dict[str, Any] = json.loads(
    (Path(__file__).parent / "baileys_crypto_vectors.json").read_text()
)["appstate_patches"]
KEY_ID = b"wamd-key-0001"
KEY_DATA = bytes(range(32))
OTHER_KEY_ID = b"wamd-key-0002"
OTHER_KEY_DATA = bytes(range(100, 132))
KEYS = {KEY_ID: KEY_DATA, OTHER_KEY_ID: OTHER_KEY_DATA}
CHAT = "15551234567@s.whatsapp.net"


def _lookup(key_id: bytes) -> bytes | None:
    return KEYS.get(key_id)


def _mute(muted: bool, chat: str = CHAT) -> PendingMutation:
    value = SyncActionValue()
    value.muteAction.muted = muted
    if muted:
        value.muteAction.muteEndTimestamp = -1
    return PendingMutation(index=("mute", chat), value=value, action_version=2)


def _pin(pinned: bool, chat: str = CHAT, operation: Operation = Operation.SET) -> PendingMutation:
    value = SyncActionValue()
    value.pinAction.pinned = pinned
    return PendingMutation(("pin_v1", chat), value, 5, operation)


def _encode(
    state: CollectionState, *mutations: PendingMutation, key_id: bytes = KEY_ID
) -> wa_appstate_pb2.SyncdPatch:
    return encode_patch(
        state, mutations, key_id, KEYS[key_id], timestamp_ms=1_700_000_000_000
    ).patch


def test_collections_in_fetch_order() -> None:
    assert [c.value for c in ALL_COLLECTIONS] == [
        "critical_block",
        "critical_unblock_low",
        "regular_high",
        "regular",
        "regular_low",
    ]


def test_baileys_patch_chain_decodes_to_baileys_states() -> None:
    assert bytes.fromhex(VECTOR["key_id"]) == KEY_ID
    state = CollectionState(VECTOR["collection"])
    decoded = []
    for step in VECTOR["patches"]:
        patch = wa_appstate_pb2.SyncdPatch.FromString(bytes.fromhex(step["patch"]))
        assert not patch.HasField("version")  # Baileys, like whatsmeow, leaves it to the server
        result = decode_patch(patch, state, _lookup)
        state = result.state
        assert state.version == step["version"]
        assert state.hash.hex() == step["hash"]
        decoded.append(result)

    mute_on, star, mute_off, unstar = (r.mutations[0] for r in decoded)
    assert mute_on.index == ("mute", CHAT)
    assert mute_on.value.muteAction.muted and mute_on.value.muteAction.muteEndTimestamp == -1
    assert mute_on.value.timestamp == 1_700_000_000_000
    assert (mute_on.action_version, mute_on.operation, mute_on.key_id) == (2, Operation.SET, KEY_ID)
    assert star.index == ("star", CHAT, "3EB0AAAAAAAAAAAAAAAAAA", "1", "0")
    assert mute_off.index_mac == mute_on.index_mac and not mute_off.value.muteAction.muted
    assert unstar.operation is Operation.REMOVE and unstar.index_mac == star.index_mac

    tables = [{k.hex(): v.hex() for k, v in r.state.index_value_macs.items()} for r in decoded]
    assert tables[:3] == [step["index_value_macs"] for step in VECTOR["patches"][:3]]
    # Baileys' encoder keeps a removed index in its own table (its decoder drops it, as
    # whatsmeow does); the hash agrees either way.
    assert star.index_mac.hex() in VECTOR["patches"][3]["index_value_macs"]
    assert tables[3] == {mute_off.index_mac.hex(): mute_off.value_mac.hex()}

    assert decoded[2].written == ((mute_on.index_mac, mute_off.value_mac),)
    assert decoded[3].deleted == (star.index_mac,)
    assert decoded[3].missing_removals == ()


def test_encode_then_decode_reproduces_the_state() -> None:
    state = CollectionState("regular_low")
    batches = [[_pin(True), _mute(True)], [_pin(False)], [_pin(False, operation=Operation.REMOVE)]]
    results = []
    for mutations in batches:
        encoded = encode_patch(state, mutations, KEY_ID, KEY_DATA, timestamp_ms=123)
        decoded = decode_patch(encoded.patch, state, _lookup)
        assert decoded.state == encoded.sync.state
        assert decoded.mutations == encoded.sync.mutations
        assert (decoded.written, decoded.deleted) == (encoded.sync.written, encoded.sync.deleted)
        assert all(m.value.timestamp == 123 for m in decoded.mutations)
        state = decoded.state
        results.append(decoded)
    assert state.version == 3
    mute = results[0].mutations[1]
    assert dict(state.index_value_macs) == {mute.index_mac: mute.value_mac}
    assert results[2].deleted == (results[0].mutations[0].index_mac,)


def test_hash_depends_only_on_the_live_records() -> None:
    state = CollectionState("regular_high")
    for mutations in ([_mute(True, "a@s.whatsapp.net")], [_mute(True, "b@s.whatsapp.net")]):
        state = decode_patch(_encode(state, *mutations), state, _lookup).state
    state = decode_patch(_encode(state, _mute(False, "a@s.whatsapp.net")), state, _lookup).state
    expected = lthash.subtract_then_add(lthash.EMPTY, [], state.index_value_macs.values())
    assert state.hash == expected


def test_overwrite_within_one_patch_subtracts_the_earlier_value() -> None:
    state = CollectionState("regular_low")
    patch = _encode(state, _pin(True), _pin(False), _pin(True, "x@s.whatsapp.net"))
    result = decode_patch(patch, state, _lookup)
    assert len(result.state.index_value_macs) == 2
    assert result.state.hash == lthash.subtract_then_add(
        lthash.EMPTY, [], result.state.index_value_macs.values()
    )


def test_remove_of_an_unknown_index_is_tolerated_and_reported() -> None:
    state = CollectionState("regular_low")
    result = decode_patch(_encode(state, _pin(True, operation=Operation.REMOVE)), state, _lookup)
    assert result.missing_removals == (result.mutations[0].index_mac,)
    assert result.state.hash == lthash.EMPTY
    assert result.state.version == 1


def test_records_under_another_key_and_version_stamping() -> None:
    state = CollectionState("regular")
    encoded = encode_patch(state, [_mute(True)], OTHER_KEY_ID, OTHER_KEY_DATA, stamp_version=True)
    assert encoded.patch.version.version == 1
    result = decode_patch(encoded.patch, state, _lookup)
    assert result.mutations[0].key_id == OTHER_KEY_ID


def test_missing_key_names_the_key() -> None:
    state = CollectionState("regular")
    patch = _encode(state, _mute(True), key_id=OTHER_KEY_ID)
    with pytest.raises(AppStateKeyMissing) as info:
        decode_patch(patch, state, lambda key_id: None)
    assert info.value.key_id == OTHER_KEY_ID


def _decode_error(patch: wa_appstate_pb2.SyncdPatch, state: CollectionState) -> MacKind:
    with pytest.raises(AppStateMacMismatch) as info:
        decode_patch(patch, state, _lookup)
    return info.value.kind


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x40]) + data[position + 1 :]


def test_each_tampering_is_caught_by_its_mac() -> None:
    state = decode_patch(
        _encode(CollectionState("regular_low"), _pin(True)), CollectionState("regular_low"), _lookup
    ).state
    good = _encode(state, _pin(False), _mute(True))
    assert decode_patch(good, state, _lookup).state.version == 2

    ciphertext = wa_appstate_pb2.SyncdPatch()
    ciphertext.CopyFrom(good)
    ciphertext.mutations[1].record.value.blob = _flip(good.mutations[1].record.value.blob, 20)
    assert _decode_error(ciphertext, state) is MacKind.VALUE

    value_mac = wa_appstate_pb2.SyncdPatch()
    value_mac.CopyFrom(good)
    value_mac.mutations[0].record.value.blob = _flip(good.mutations[0].record.value.blob, -1)
    assert _decode_error(value_mac, state) is MacKind.VALUE

    operation = wa_appstate_pb2.SyncdPatch()
    operation.CopyFrom(good)
    operation.mutations[0].operation = wa_appstate_pb2.SyncdMutation.REMOVE
    assert _decode_error(operation, state) is MacKind.VALUE

    index = wa_appstate_pb2.SyncdPatch()
    index.CopyFrom(good)
    index.mutations[1].record.index.blob = _flip(good.mutations[1].record.index.blob, 0)
    assert _decode_error(index, state) is MacKind.INDEX

    snapshot = wa_appstate_pb2.SyncdPatch()
    snapshot.CopyFrom(good)
    snapshot.snapshotMAC = _flip(good.snapshotMAC, 5)
    assert _decode_error(snapshot, state) is MacKind.SNAPSHOT

    patch_mac = wa_appstate_pb2.SyncdPatch()
    patch_mac.CopyFrom(good)
    patch_mac.patchMAC = _flip(good.patchMAC, 31)
    assert _decode_error(patch_mac, state) is MacKind.PATCH

    version = wa_appstate_pb2.SyncdPatch()
    version.CopyFrom(good)
    version.version.version = 7
    assert _decode_error(version, state) is MacKind.SNAPSHOT

    dropped = wa_appstate_pb2.SyncdPatch()
    dropped.CopyFrom(good)
    del dropped.mutations[0]
    assert _decode_error(dropped, state) is MacKind.SNAPSHOT

    # A state that lost track of a record no longer agrees with the phone's LTHash.
    forgetful = CollectionState(state.name, state.version, state.hash, {})
    assert _decode_error(good, forgetful) is MacKind.SNAPSHOT
    wrong_name = CollectionState("regular", state.version, state.hash, state.index_value_macs)
    assert _decode_error(good, wrong_name) is MacKind.SNAPSHOT


def test_malformed_patches_are_decode_errors() -> None:
    state = CollectionState("regular_low", version=4)
    good = _encode(state, _pin(True))
    stale = wa_appstate_pb2.SyncdPatch()
    stale.CopyFrom(good)
    stale.version.version = 4
    with pytest.raises(AppStateDecodeError, match="does not follow"):
        decode_patch(stale, state, _lookup)

    short = wa_appstate_pb2.SyncdPatch()
    short.CopyFrom(good)
    short.mutations[0].record.value.blob = b"\x00" * 40
    with pytest.raises(AppStateDecodeError, match="at least"):
        decode_patch(short, state, _lookup)

    external = wa_appstate_pb2.SyncdPatch()
    external.CopyFrom(good)
    del external.mutations[:]
    external.externalMutations.directPath = "/v/ext"
    with pytest.raises(AppStateDecodeError, match="external"):
        decode_patch(external, state, _lookup)
    blob = wa_appstate_pb2.SyncdMutations(mutations=good.mutations).SerializeToString()
    inlined = with_external_mutations(external, blob)
    assert decode_patch(inlined, state, _lookup).state.version == 5
    assert not external.mutations  # the input patch is left as it was
    with pytest.raises(AppStateDecodeError):
        with_external_mutations(external, b"")

    no_key = wa_appstate_pb2.SyncdPatch()
    no_key.CopyFrom(good)
    no_key.ClearField("keyID")
    with pytest.raises(AppStateDecodeError, match="key id"):
        decode_patch(no_key, state, _lookup)


def test_index_json_is_compact_and_keeps_unicode() -> None:
    assert encode_index(["mute", "1@s.whatsapp.net"]) == b'["mute","1@s.whatsapp.net"]'
    assert encode_index(["label_edit", "café"]) == '["label_edit","café"]'.encode()


def test_snapshot_round_trip_and_agreement_with_patches() -> None:
    entries = [_mute(True, f"{n}@s.whatsapp.net") for n in range(5)]
    encoded = encode_snapshot("regular_high", 9, entries, KEY_ID, KEY_DATA)
    decoded = decode_snapshot(
        wa_appstate_pb2.SyncdSnapshot.FromString(encoded.snapshot.SerializeToString()),
        "regular_high",
        _lookup,
    )
    assert decoded.state == encoded.sync.state
    assert decoded.replaced and decoded.state.version == 9
    assert [m.index for m in decoded.mutations] == [e.index for e in entries]

    # A server that kept the live records of the patches it stored can have them sealed into a
    # snapshot whose hash is the one the patch chain reached: the LTHash certifies the set of
    # records, not their history.
    state = CollectionState("regular_high")
    live: dict[bytes, wa_appstate_pb2.SyncdRecord] = {}
    for entry in [*entries, _mute(False, "0@s.whatsapp.net")]:
        patch = _encode(state, entry)
        state = decode_patch(patch, state, _lookup).state
        live[patch.mutations[0].record.index.blob] = patch.mutations[0].record
    from_server = seal_snapshot(
        "regular_high", state.version, list(live.values()), KEY_ID, KEY_DATA
    )
    assert decode_snapshot(from_server, "regular_high", _lookup).state == state

    resealed = seal_snapshot("regular_high", 9, list(encoded.snapshot.records), KEY_ID, KEY_DATA)
    assert resealed.mac == encoded.snapshot.mac

    tampered = wa_appstate_pb2.SyncdSnapshot()
    tampered.CopyFrom(encoded.snapshot)
    del tampered.records[0]
    with pytest.raises(AppStateMacMismatch) as info:
        decode_snapshot(tampered, "regular_high", _lookup)
    assert info.value.kind is MacKind.SNAPSHOT
    with pytest.raises(AppStateMacMismatch) as info:
        decode_snapshot(encoded.snapshot, "regular", _lookup)
    assert info.value.kind is MacKind.SNAPSHOT


def test_encoder_refuses_what_it_cannot_encode() -> None:
    state = CollectionState("regular")
    with pytest.raises(AppStateError):
        encode_patch(state, [], KEY_ID, KEY_DATA)
    with pytest.raises(AppStateError):
        encode_patch(state, [_mute(True)], KEY_ID, bytes(5))
    with pytest.raises(AppStateError):
        encode_snapshot("regular", 1, [_mute(True), _mute(False)], KEY_ID, KEY_DATA)
    with pytest.raises(AppStateError):
        CollectionState("regular", hash=bytes(3))


def test_state_table_is_read_only_and_detached() -> None:
    table = {b"i" * 32: b"v" * 32}
    state = CollectionState("regular", 1, lthash.EMPTY, table)
    table.clear()
    assert len(state.index_value_macs) == 1
    with pytest.raises(TypeError):
        state.index_value_macs[b"x"] = b"y"  # type: ignore[index]


chats = st.sampled_from([f"{n}@s.whatsapp.net" for n in range(4)])
steps = st.lists(
    st.lists(
        st.tuples(chats, st.booleans(), st.sampled_from([Operation.SET, Operation.REMOVE])),
        min_size=1,
        max_size=4,
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=25, deadline=None)
@given(steps=steps)
def test_random_patch_sequences_round_trip(
    steps: list[list[tuple[str, bool, Operation]]],
) -> None:
    sender = receiver = CollectionState("regular_low")
    live: dict[str, bool] = {}
    for step in steps:
        mutations = [_pin(pinned, chat, op) for chat, pinned, op in step]
        encoded = encode_patch(sender, mutations, KEY_ID, KEY_DATA)
        sender = encoded.sync.state
        receiver = decode_patch(encoded.patch, receiver, _lookup).state
        assert receiver == sender
        for chat, pinned, op in step:
            if op is Operation.SET:
                live[chat] = pinned
            else:
                live.pop(chat, None)
    assert len(receiver.index_value_macs) == len(live)
    assert receiver.hash == lthash.subtract_then_add(
        lthash.EMPTY, [], receiver.index_value_macs.values()
    )
