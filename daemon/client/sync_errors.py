"""Exceptions of media, history sync, app-state sync and peer requests (all ``ClientError``\\ s).

::

    SyncError
    ├── MediaError                   a media transfer did not happen
    │   ├── MediaConnError           the server gave no usable media_conn (auth, hosts)
    │   ├── MediaUploadFailed        every media host refused the upload (or was unreachable)
    │   ├── MediaDownloadFailed      no host delivered a body that verified
    │   ├── MediaExpired             the media host answered 404/410: the file is gone from it
    │   │                            (a media retry asks the phone to upload it again)
    │   ├── MediaUnavailable         the phone could not upload it again either
    │   └── NotMediaMessage          the message carries no downloadable file
    ├── HistorySyncFailed            a history chunk could not be fetched, opened or ingested
    ├── AppStateSyncFailed           an app-state fetch or upload the server refused
    │   └── AppStateRejected         a patch or snapshot did not verify (a MAC mismatch, a
    │                                missing key, a malformed record): nothing of it was applied
    └── PeerRequestFailed            a request to our own phone was not sent or not answered
"""

from __future__ import annotations

from daemon.client.errors import ClientError


class SyncError(ClientError):
    """Base class of the errors of this module."""


class MediaError(SyncError):
    pass


class MediaConnError(MediaError):
    pass


class MediaUploadFailed(MediaError):
    pass


class MediaDownloadFailed(MediaError):
    pass


class MediaExpired(MediaError):
    """``status`` is the HTTP status the media host answered (404 or 410)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"media expired (HTTP {status}): {detail}")
        self.status = status


class MediaUnavailable(MediaError):
    pass


class NotMediaMessage(MediaError):
    pass


class HistorySyncFailed(SyncError):
    pass


class AppStateSyncFailed(SyncError):
    pass


class AppStateRejected(AppStateSyncFailed):
    """``collection`` at ``version``; ``reason`` says which check failed."""

    def __init__(self, collection: str, version: int, reason: str) -> None:
        super().__init__(f"app state {collection} v{version} refused: {reason}")
        self.collection = collection
        self.version = version
        self.reason = reason


class PeerRequestFailed(SyncError):
    pass
