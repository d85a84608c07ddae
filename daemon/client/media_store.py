"""The media files on disk: content-addressed and deduplicated under the state directory.

A file is stored once, at ``<root>/<first two hex digits>/<SHA-256 hex of the plaintext>``,
however many messages (or sessions) carry it. Files are private (0600, directories 0700): they
are people's photos and voice notes.

Writes never expose a half file: a download streams into ``<root>/tmp/`` (its plaintext is
untrusted until the media MAC and hashes verified, see ``daemon.crypto.media``) and is then
renamed into place (:meth:`MediaStore.commit`), which is atomic on one filesystem. If the
content-addressed path already exists the same bytes are there already: the new copy is
dropped. Nothing here touches the database; :mod:`daemon.client.media_download` records the
paths (``storage.sqlite.media_files``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

_DIR_MODE = 0o700
_FILE_MODE = 0o600
_COPY_CHUNK = 1024 * 1024


class MediaStoreError(OSError):
    """The media directory cannot be written (or a stored file is missing)."""


def relative_path(sha256: bytes) -> str:
    if len(sha256) != 32:
        raise ValueError("a media file is named by its 32-byte SHA-256")
    digest = sha256.hex()
    return f"{digest[:2]}/{digest}"


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise MediaStoreError(f"{relative!r} is outside the media directory")
        return path

    def has(self, sha256: bytes) -> bool:
        return (self.root / relative_path(sha256)).is_file()

    def _ensure_dir(self, path: Path) -> None:
        # mkdir(parents=True) gives the parents it makes the umask's mode (0755), not ``mode``:
        # the store's root and every level below it are made one by one, private.
        self.root.parent.mkdir(parents=True, exist_ok=True)
        for level in [*reversed(path.relative_to(self.root).parents), path.relative_to(self.root)]:
            (self.root / level).mkdir(mode=_DIR_MODE, exist_ok=True)

    def temp_file(self) -> tuple[BinaryIO, Path]:
        """An open, private temporary file inside the store (same filesystem as the files)."""
        tmp = self.root / "tmp"
        self._ensure_dir(tmp)
        fd, name = tempfile.mkstemp(dir=tmp, prefix="part-")
        os.fchmod(fd, _FILE_MODE)
        return os.fdopen(fd, "w+b"), Path(name)

    def discard(self, temp: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()

    def commit(self, temp: Path, sha256: bytes) -> str:
        """Moves a verified temporary file to its content address; returns the relative path.
        The temporary file is gone afterwards either way."""
        relative = relative_path(sha256)
        target = self.root / relative
        try:
            self._ensure_dir(target.parent)
            if target.is_file():
                temp.unlink()
            else:
                os.replace(temp, target)
        except OSError as exc:
            self.discard(temp)
            raise MediaStoreError(f"cannot store media file {relative}: {exc}") from exc
        return relative

    def write_bytes(self, data: bytes) -> tuple[str, bytes]:
        """Stores ``data``; returns (relative path, SHA-256)."""
        sha256 = hashlib.sha256(data).digest()
        if self.has(sha256):
            return relative_path(sha256), sha256
        handle, temp = self.temp_file()
        with handle:
            handle.write(data)
        return self.commit(temp, sha256), sha256

    def copy_file(self, source: Path, sha256: bytes) -> str:
        """Stores a copy of ``source`` whose SHA-256 the caller computed while reading it."""
        if self.has(sha256):
            return relative_path(sha256)
        handle, temp = self.temp_file()
        try:
            with handle, source.open("rb") as reader:
                shutil.copyfileobj(reader, handle, _COPY_CHUNK)
        except OSError as exc:
            self.discard(temp)
            raise MediaStoreError(f"cannot copy {source} into the media store: {exc}") from exc
        return self.commit(temp, sha256)

    async def awrite_bytes(self, data: bytes) -> tuple[str, bytes]:
        return await asyncio.to_thread(self.write_bytes, data)

    async def acopy_file(self, source: Path, sha256: bytes) -> str:
        return await asyncio.to_thread(self.copy_file, source, sha256)

    def read(self, relative: str) -> bytes:
        try:
            return self.path_of(relative).read_bytes()
        except FileNotFoundError as exc:
            raise MediaStoreError(f"media file {relative} is missing") from exc
