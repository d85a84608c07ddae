"""Every sync repository (app state, history, media) over one SQLite database."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from storage.engine import SqlEngine
from storage.sqlite.app_state import SqliteAppStateRepo
from storage.sqlite.history import SqliteHistoryRepo
from storage.sqlite.media_files import SqliteMediaFileRepo
from storage.sqlite.message_secrets import SqliteMessageSecretRepo
from storage.sync_interfaces import (
    AppStateRepo,
    HistoryRepo,
    MediaFileRepo,
    MessageSecretRepo,
    SyncStore,
)


class SqliteSyncStore:
    """The SQLite implementation of :class:`~storage.sync_interfaces.SyncStore`."""

    def __init__(self, db: SqlEngine) -> None:
        self.db = db
        self._app_state = SqliteAppStateRepo(db)
        self._history = SqliteHistoryRepo(db)
        self._media = SqliteMediaFileRepo(db)
        self._secrets = SqliteMessageSecretRepo(db)

    @property
    def app_state(self) -> AppStateRepo:
        return self._app_state

    @property
    def history(self) -> HistoryRepo:
        return self._history

    @property
    def media(self) -> MediaFileRepo:
        return self._media

    @property
    def secrets(self) -> MessageSecretRepo:
        return self._secrets

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self.db.transaction()


if TYPE_CHECKING:

    def _satisfies_sync_store(store: SqliteSyncStore) -> SyncStore:
        return store
