"""History, app-state and media events as the daemon's event log records them."""

from __future__ import annotations

from daemon.client.sync_events import (
    AppStateRefused,
    AppStateSynced,
    HistorySyncFailed,
    HistorySyncProgress,
    MediaDownloaded,
    MediaFailed,
)
from daemon.event_format import EventType
from daemon.event_records import SYNC_EVENTS, from_sync_event
from storage.sync_values import MediaStatus


def test_history_progress_and_failures_are_logged() -> None:
    progress = HistorySyncProgress("s", "M1", "RECENT", 2, 100, 2500, 2400, 3, 7000)
    assert isinstance(progress, SYNC_EVENTS)
    record = from_sync_event(progress)
    assert record is not None and record.type is EventType.HISTORY_PROGRESS
    assert record.data == {
        "status": "done",
        "messageId": "M1",
        "syncType": "RECENT",
        "chunkOrder": 2,
        "progress": 100,
        "chunkMessages": 2500,
        "stored": 2400,
        "chunksDone": 3,
        "messagesTotal": 7000,
        "dryRun": False,
    }
    failed = from_sync_event(HistorySyncFailed("s", "M2", "FULL", "bad blob"))
    assert failed is not None and failed.type is EventType.HISTORY_PROGRESS
    assert (failed.data["status"], failed.data["reason"]) == ("failed", "bad blob")


def test_refusals_and_media_failures_are_alerts_routine_events_stay_on_the_bus() -> None:
    refused = from_sync_event(AppStateRefused("s", "regular_low", 7, "mismatching patch MAC", True))
    assert refused is not None and refused.type is EventType.ALERT
    assert refused.data["kind"] == "app_state" and "patch MAC" in refused.data["message"]
    media = from_sync_event(
        MediaFailed("s", "c@s.whatsapp.net", "M3", MediaStatus.UNAVAILABLE, "gone")
    )
    assert media is not None and media.data["kind"] == "media"
    assert from_sync_event(AppStateSynced("s", "regular", 3, 1)) is None
    assert from_sync_event(MediaDownloaded("s", "c", "M4", "/p", "ab", 1, False)) is None
