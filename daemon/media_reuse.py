"""Uploads of a campaign's shared file, kept for the campaign's next recipients.

A campaign sends one file to many chats. Nothing in an upload names a recipient (whatsmeow's
``Upload`` takes only the plaintext and the media type; the message announcing it is built and
addressed afterwards), WhatsApp clients forward a file by announcing the same upload again
(Baileys' ``generateForwardMessageContent`` copies the media fields: direct path, media key,
hashes), and Baileys' ``mediaCache`` reuses an upload's whole media message for later sends.
So the file is encrypted and uploaded once and every further recipient gets the same
announcement, with its own caption.

The cache is in memory: after a restart the next send uploads the file once more. An entry is
reused for :data:`REUSE_FOR_S` after its media key was made, then the file is uploaded again
(a fresh key and blob) so that a long campaign never announces a blob the media host may have
dropped.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from daemon.client.media_service import ReusableUpload

REUSE_FOR_S = 6 * 3600.0
MAX_ENTRIES = 256


@dataclass(frozen=True, slots=True)
class ReuseKey:
    session_id: str
    path: str
    sha256: str
    """Hex SHA-256 of the plaintext (a file staged again at the same path is another file)."""
    kind: str
    """The media kind, which decides the encryption keys (an image and a sticker differ)."""


class UploadReuse:
    def __init__(
        self,
        *,
        reuse_for_s: float = REUSE_FOR_S,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._reuse_for_s = reuse_for_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[ReuseKey, ReusableUpload] = OrderedDict()

    def get(self, key: ReuseKey) -> ReusableUpload | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if self._clock() - found.key_timestamp >= self._reuse_for_s:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return found

    def put(self, key: ReuseKey, upload: ReusableUpload) -> None:
        self._entries[key] = upload
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["MAX_ENTRIES", "REUSE_FOR_S", "ReuseKey", "UploadReuse"]
