"""daemon.outbox_rows.describe: the API's shape of a send, each time its own."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from daemon.outbox_rows import describe
from storage.outbox_values import OutboxRequest, OutboxRow, OutboxStatus

AT = datetime(2026, 12, 7, 17, 0, 0, 123_000, tzinfo=UTC)


def accepted_row() -> OutboxRow:
    return OutboxRow(
        id="3EB0AA",
        session_id="s",
        idempotency_key=None,
        request_hash=b"h",
        chat_jid="15550001111@s.whatsapp.net",
        kind="text",
        payload={"to": "15550001111@s.whatsapp.net", "type": "text", "text": "hi"},
        request=OutboxRequest.PENDING,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=AT,
        last_error=None,
        created_at=AT,
        updated_at=AT,
        sent_at=None,
        uncertain_sends=0,
    )


def test_a_row_just_accepted_has_one_time_everywhere() -> None:
    shape = describe(accepted_row())
    assert shape["createdAt"] == shape["updatedAt"] == shape["nextAttemptAt"]
    assert shape["createdAt"] == "2026-12-07T17:00:00.123Z" and shape["sentAt"] is None
    assert shape["request"] == accepted_row().payload


def test_each_time_is_its_own() -> None:
    row = dataclasses.replace(
        accepted_row(),
        request=OutboxRequest.SENDING,
        updated_at=AT + timedelta(seconds=1),
        next_attempt_at=AT + timedelta(seconds=2),
        sent_at=AT + timedelta(seconds=3),
    )
    shape = describe(row)
    assert shape["createdAt"] == "2026-12-07T17:00:00.123Z"
    assert shape["updatedAt"] == "2026-12-07T17:00:01.123Z"
    assert shape["nextAttemptAt"] == "2026-12-07T17:00:02.123Z"
    assert shape["sentAt"] == "2026-12-07T17:00:03.123Z"
    done = describe(dataclasses.replace(row, request=OutboxRequest.DONE))
    assert done["nextAttemptAt"] is None
