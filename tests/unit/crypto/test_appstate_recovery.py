"""The phone's plaintext copy of a collection (app-state recovery): built by the phone, opened
and checked by the companion, refused when its records do not add up to its LTHash."""

from __future__ import annotations

import pytest

from daemon.crypto.appstate import (
    AppStateKeyMissing,
    AppStateMacMismatch,
    SyncActionValue,
)
from daemon.crypto.appstate_keys import expand_sync_key, index_mac
from daemon.crypto.appstate_recovery import (
    PlainRecord,
    build_recovery,
    open_recovery,
    parse_recovery,
)
from waproto import wa_appstate_pb2

KEY_ID = b"\x00\x01"
KEY = bytes(range(32))


def _records() -> list[PlainRecord]:
    archived = SyncActionValue(archiveChatAction=wa_appstate_pb2.ArchiveChatAction(archived=True))
    muted = SyncActionValue(muteAction=wa_appstate_pb2.MuteAction(muted=True))
    return [
        PlainRecord(("archive", "1@s.whatsapp.net"), archived, b"\x11" * 32, KEY_ID, 3),
        PlainRecord(("mute", "2@s.whatsapp.net"), muted, b"\x22" * 32, KEY_ID, 2),
    ]


@pytest.mark.parametrize("compress", [True, False])
def test_a_recovery_round_trips_with_its_index_macs(compress: bool) -> None:
    blob, compressed = build_recovery("regular_low", 7, _records(), compress=compress)
    assert compressed is compress
    result = open_recovery(parse_recovery(blob, compressed=compressed), {KEY_ID: KEY}.get)
    assert result.replaced and result.state.version == 7 and result.state.name == "regular_low"
    keys = expand_sync_key(KEY)
    indexes = [m.index for m in result.mutations]
    assert indexes == [("archive", "1@s.whatsapp.net"), ("mute", "2@s.whatsapp.net")]
    first = result.mutations[0]
    assert first.index_mac == index_mac(keys, b'["archive","1@s.whatsapp.net"]')
    assert first.value.archiveChatAction.archived and first.action_version == 3
    assert dict(result.state.index_value_macs)[first.index_mac] == b"\x11" * 32


def test_records_that_do_not_add_up_to_the_lthash_are_refused() -> None:
    blob, _ = build_recovery("regular_low", 7, _records(), compress=False)
    recovery = parse_recovery(blob, compressed=False)
    del recovery.mutationRecords[1]
    with pytest.raises(AppStateMacMismatch):
        open_recovery(recovery, {KEY_ID: KEY}.get)


def test_a_missing_key_is_named() -> None:
    blob, compressed = build_recovery("regular_low", 7, _records())
    with pytest.raises(AppStateKeyMissing):
        open_recovery(parse_recovery(blob, compressed=compressed), {}.get)
