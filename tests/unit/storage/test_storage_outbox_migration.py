"""Migration 0012 (PostgreSQL: 0003) moves an existing database to one lifecycle per message:
statuses beyond ``sent`` that only the outbox held reach the message row, and the outbox keeps
request states only (pending, sending, done, failed). Run on both engines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from postgres_server import PostgresServer

from storage.db import Database
from storage.engine import Dialect, SqlEngine
from storage.message_values import ContentType, MessageRecord, MessageStatus
from storage.migrate import Migration, load_migrations
from storage.outbox_values import OutboxRequest, OutboxStatus
from storage.postgres.engine import MIGRATIONS_PACKAGE as POSTGRES_MIGRATIONS
from storage.postgres.engine import PgDatabase
from storage.sqlite.messages import SqliteMessageRepo
from storage.sqlite.outbox import SqliteOutboxRepo
from storage.sqlite.sessions import SqliteSessionRepo

SID = "s1"
OWN = "15550009999@s.whatsapp.net"
CHAT = "15550001111@s.whatsapp.net"
QUEUED_AT = datetime(2026, 1, 1, tzinfo=UTC)
QUEUED_MS = int(QUEUED_AT.timestamp() * 1000)
OUTBOX_SENT_MS = QUEUED_MS + 1_500
SERVER_TIME = int(QUEUED_AT.timestamp()) + 1
RECEIPT_MS = QUEUED_MS + 60_000

# id: (outbox status then, message row status then or None for no row,
#      outbox status now, status shown now, message row status now)
CASES: dict[str, tuple[str, MessageStatus | None, OutboxRequest, OutboxStatus, MessageStatus]] = {
    "PENDING": ("pending", MessageStatus.PENDING, OutboxRequest.PENDING, OutboxStatus.PENDING,
                MessageStatus.PENDING),
    "SENDING": ("sending", MessageStatus.PENDING, OutboxRequest.SENDING, OutboxStatus.SENDING,
                MessageStatus.PENDING),
    "SENT": ("sent", MessageStatus.SENT, OutboxRequest.DONE, OutboxStatus.SENT,
             MessageStatus.SENT),
    "DELIVERED": ("delivered", MessageStatus.SENT, OutboxRequest.DONE, OutboxStatus.DELIVERED,
                  MessageStatus.DELIVERED),
    "READ": ("read", MessageStatus.PENDING, OutboxRequest.DONE, OutboxStatus.READ,
             MessageStatus.READ),
    "PLAYED": ("played", MessageStatus.DELIVERED, OutboxRequest.DONE, OutboxStatus.PLAYED,
               MessageStatus.PLAYED),
    "FAILED": ("failed", MessageStatus.FAILED, OutboxRequest.FAILED, OutboxStatus.FAILED,
               MessageStatus.FAILED),
    # The message row was ahead of the outbox: it stays where it is.
    "AHEAD": ("sent", MessageStatus.READ, OutboxRequest.DONE, OutboxStatus.READ,
              MessageStatus.READ),
}  # fmt: skip
NO_MESSAGE_ROW = "GONE"  # the chat was deleted since: the outbox row alone remains

INSERT_OUTBOX_BEFORE = """
INSERT INTO outbox (id, session_id, request_hash, chat_jid, kind, payload, status, attempts,
                    next_attempt_at, created_at, updated_at, sent_at, server_timestamp)
VALUES (?, ?, ?, ?, 'text', '{"text":"hi"}', ?, 1, ?, ?, ?, ?, ?)
"""


def own_message(message_id: str, status: MessageStatus) -> MessageRecord:
    return MessageRecord(
        chat=CHAT,
        message_id=message_id,
        sender=OWN,
        from_me=True,
        sent_at=QUEUED_AT,
        content_type=ContentType.TEXT,
        status=status,
        text="hi",
    )


LIFECYCLE_MIGRATION = {Dialect.SQLITE: 12, Dialect.POSTGRESQL: 3}
OUTBOX_COLUMNS = {
    Dialect.SQLITE: "SELECT name FROM pragma_table_info('outbox')",
    Dialect.POSTGRESQL: (
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'outbox'"
    ),
}


class Databases:
    """Opens one database of the test's engine, at a given migration or fully migrated."""

    def __init__(self, backend: Dialect, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.backend = backend
        self._path = tmp_path / "old.db"
        self._url: str | None = None
        if backend is Dialect.POSTGRESQL:
            server: PostgresServer = request.getfixturevalue("postgres_server")
            self._url = server.create_database()

    def _before_lifecycle(self) -> list[Migration]:
        shipped = (
            load_migrations()
            if self.backend is Dialect.SQLITE
            else load_migrations(POSTGRES_MIGRATIONS, Dialect.POSTGRESQL)
        )
        return [m for m in shipped if m.version < LIFECYCLE_MIGRATION[self.backend]]

    async def open(self, *, before_lifecycle: bool = False) -> SqlEngine:
        migrations = self._before_lifecycle() if before_lifecycle else None
        if self._url is None:
            return await Database.open(self._path, migrations=migrations)
        return await PgDatabase.open(self._url, migrations=migrations)


@pytest.fixture
def databases(backend: Dialect, tmp_path: Path, request: pytest.FixtureRequest) -> Databases:
    return Databases(backend, tmp_path, request)


async def build_before_lifecycle(databases: Databases) -> None:
    db = await databases.open(before_lifecycle=True)
    await SqliteSessionRepo(db).create(SID)
    messages = SqliteMessageRepo(db)
    rows = {**{k: (v[0], v[1]) for k, v in CASES.items()}, NO_MESSAGE_ROW: ("delivered", None)}
    for message_id, (outbox_status, message_status) in rows.items():
        went_out = outbox_status not in ("pending", "sending", "failed")
        await db.execute(
            INSERT_OUTBOX_BEFORE,
            (
                message_id,
                SID,
                bytes(32),
                CHAT,
                outbox_status,
                QUEUED_MS,
                QUEUED_MS,
                RECEIPT_MS if outbox_status in ("delivered", "read", "played") else QUEUED_MS,
                OUTBOX_SENT_MS if went_out else None,
                SERVER_TIME if went_out else None,
            ),
        )
        if message_status is not None:
            await messages.insert(SID, own_message(message_id, message_status))
    await db.close()


async def test_statuses_move_to_the_message_row_and_the_outbox_keeps_requests(
    databases: Databases,
) -> None:
    await build_before_lifecycle(databases)
    db = await databases.open()
    outbox = SqliteOutboxRepo(db)
    messages = SqliteMessageRepo(db)

    for message_id, (_, _, request, shown, stored) in CASES.items():
        row = await outbox.get(SID, message_id)
        assert row is not None
        assert (row.request, row.status) == (request, shown), message_id
        message = await messages.find_own(SID, message_id)
        assert message is not None and message.status is stored, message_id
    # Only request states remain in the outbox, and no copy of the server's time.
    raw = {str(row[0]) for row in await db.fetch_all("SELECT status FROM outbox")}
    assert raw == {"pending", "sending", "done", "failed"}
    columns = {str(row[0]) for row in await db.fetch_all(OUTBOX_COLUMNS[databases.backend])}
    assert not columns & {"sent_at", "server_timestamp"}

    # A message row that had not recorded the server's time takes the outbox's.
    read = await messages.find_own(SID, "READ")
    assert read is not None and read.sent_at == datetime.fromtimestamp(SERVER_TIME, UTC)
    delivered = await outbox.get(SID, "DELIVERED")
    assert delivered is not None and delivered.sent_at == QUEUED_AT  # the message row's time
    # With no message row left, the request shows as sent, at the time the outbox had.
    gone = await outbox.get(SID, NO_MESSAGE_ROW)
    assert gone is not None
    assert (gone.request, gone.status) == (OutboxRequest.DONE, OutboxStatus.SENT)
    assert gone.sent_at == datetime.fromtimestamp(OUTBOX_SENT_MS / 1000, UTC)
    pending = await outbox.get(SID, "PENDING")
    assert pending is not None and pending.sent_at is None

    counts = await outbox.counts(SID)
    assert counts[OutboxStatus.SENT] == 2 and counts[OutboxStatus.READ] == 2
    await db.close()
