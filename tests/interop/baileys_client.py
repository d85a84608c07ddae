"""Python side of the Baileys interop harness.

`BaileysClient` owns one `node baileys_driver.mjs` process: it sends commands as JSON lines on the
driver's stdin, matches replies by id, and records every event the driver pushes, so tests can
wait for things that already happened as well as things still to come.

    async with BaileysClient(ws_url=..., auth_dir=tmp_path, root_key=sandbox_root_pub) as bc:
        await bc.connect()
        qr = await bc.wait_qr()
        await post_scan_qr(admin_base_url, qr)
        await bc.wait_open()
        key = await bc.send_text("15550001111@s.whatsapp.net", "hi")
        await bc.wait_status(key.id, MessageStatus.DELIVERY_ACK)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import sys
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp

INTEROP_DIR = Path(__file__).resolve().parent
BAILEYS_VERSION = "7.0.0-rc14"  # pinned in package.json; the fixture checks what is installed
DRIVER_PATH = INTEROP_DIR / "baileys_driver.mjs"
SCAN_QR_PATH = "/admin/mock-phone/scan-qr"

DEFAULT_COMMAND_TIMEOUT = 30.0
DEFAULT_WAIT_TIMEOUT = 30.0
# Lines can carry whole group metadata or history summaries; asyncio's 64 KiB default is too small.
_LINE_LIMIT = 16 * 1024 * 1024
_STDERR_TAIL = 200


class BaileysError(Exception):
    """Base class for harness errors."""


class BaileysCommandError(BaileysError):
    """The driver answered a command with ok=false."""

    def __init__(self, cmd: str, error: str, status: int | None) -> None:
        suffix = f" (status {status})" if status is not None else ""
        super().__init__(f"baileys {cmd} failed: {error}{suffix}")
        self.cmd = cmd
        self.error = error
        self.status = status


class BaileysDriverExited(BaileysError):
    """The driver process ended while a command or a wait was outstanding."""


class BaileysTimeout(BaileysError, TimeoutError):
    """A command reply or an awaited event did not arrive in time."""


class MessageStatus(IntEnum):
    """proto.WebMessageInfo.Status, as Baileys reports it in messages.update."""

    ERROR = 0
    PENDING = 1
    SERVER_ACK = 2
    DELIVERY_ACK = 3
    READ = 4
    PLAYED = 5


class DisconnectReason(IntEnum):
    """Baileys' DisconnectReason codes (the Boom status of lastDisconnect)."""

    LOGGED_OUT = 401
    FORBIDDEN = 403
    CONNECTION_LOST = 408  # also timedOut
    MULTIDEVICE_MISMATCH = 411
    CONNECTION_CLOSED = 428
    CONNECTION_REPLACED = 440
    BAD_SESSION = 500
    UNAVAILABLE_SERVICE = 503
    RESTART_REQUIRED = 515


@dataclass(frozen=True, slots=True)
class NodeSetup:
    """A usable node binary and the Baileys version installed next to the driver."""

    node: str
    baileys_version: str


# ---------------------------------------------------------------------------------------------
# values


def _opt_str(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    return value if isinstance(value, str) else None


def _opt_int(raw: Mapping[str, Any], name: str) -> int | None:
    value = raw.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _message_status(value: int | None) -> MessageStatus | None:
    if value is None:
        return None
    try:
        return MessageStatus(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class MessageKey:
    remote_jid: str
    id: str
    from_me: bool
    participant: str | None = None
    remote_jid_alt: str | None = None
    participant_alt: str | None = None
    addressing_mode: str | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> MessageKey:
        remote_jid, msg_id = raw.get("remoteJid"), raw.get("id")
        if not isinstance(remote_jid, str) or not isinstance(msg_id, str):
            raise BaileysError(f"malformed message key from driver: {raw!r}")
        return cls(
            remote_jid=remote_jid,
            id=msg_id,
            from_me=bool(raw.get("fromMe")),
            participant=_opt_str(raw, "participant"),
            remote_jid_alt=_opt_str(raw, "remoteJidAlt"),
            participant_alt=_opt_str(raw, "participantAlt"),
            addressing_mode=_opt_str(raw, "addressingMode"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"remoteJid": self.remote_jid, "id": self.id, "fromMe": self.from_me}
        if self.participant is not None:
            out["participant"] = self.participant
        return out


@dataclass(frozen=True, slots=True)
class Me:
    id: str
    lid: str | None
    name: str | None

    @classmethod
    def from_json(cls, raw: Any) -> Me | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            return None
        return cls(id=raw["id"], lid=_opt_str(raw, "lid"), name=_opt_str(raw, "name"))


@dataclass(frozen=True, slots=True)
class GroupParticipant:
    id: str
    admin: str | None


@dataclass(frozen=True, slots=True)
class GroupInfo:
    id: str
    subject: str | None
    owner: str | None
    participants: tuple[GroupParticipant, ...]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> GroupInfo:
        group_id = raw.get("id")
        if not isinstance(group_id, str):
            raise BaileysError(f"malformed group from driver: {raw!r}")
        participants = tuple(
            GroupParticipant(id=p["id"], admin=_opt_str(p, "admin"))
            for p in raw.get("participants") or ()
            if isinstance(p, Mapping) and isinstance(p.get("id"), str)
        )
        return cls(
            id=group_id,
            subject=_opt_str(raw, "subject"),
            owner=_opt_str(raw, "owner"),
            participants=participants,
        )


# ---------------------------------------------------------------------------------------------
# events


class EventKind(StrEnum):
    READY = "ready"
    CONNECTION = "connection"
    RECONNECT = "reconnect"
    CREDS = "creds"
    MESSAGE = "message"
    MESSAGE_UPDATE = "message_update"
    RECEIPT = "receipt"
    GROUPS = "groups"
    GROUP_PARTICIPANTS = "group_participants"
    HISTORY = "history"
    ERROR = "error"
    EXIT = "exit"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class DriverEvent:
    """One event line from the driver. `raw` keeps every field, modelled or not."""

    seq: int
    kind: EventKind
    socket: int | None
    raw: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class ConnectionEvent(DriverEvent):
    connection: str | None
    qr: str | None
    is_new_login: bool | None
    status: int | None
    status_name: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class CredsEvent(DriverEvent):
    fields: tuple[str, ...]
    me: Me | None


@dataclass(frozen=True, slots=True)
class Reaction:
    text: str
    key: MessageKey | None


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """The media part of a message as Baileys decoded it; ``file_sha256`` is the plaintext's."""

    kind: str
    mimetype: str | None
    file_sha256: bytes | None
    file_length: int | None
    ptt: bool | None
    file_name: str | None
    caption: str | None

    @classmethod
    def from_json(cls, raw: Any) -> MediaInfo | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("kind"), str):
            return None
        digest = _opt_str(raw, "fileSha256")
        ptt = raw.get("ptt")
        return cls(
            kind=raw["kind"],
            mimetype=_opt_str(raw, "mimetype"),
            file_sha256=base64.b64decode(digest) if digest is not None else None,
            file_length=_opt_int(raw, "fileLength"),
            ptt=ptt if isinstance(ptt, bool) else None,
            file_name=_opt_str(raw, "fileName"),
            caption=_opt_str(raw, "caption"),
        )


@dataclass(frozen=True, slots=True)
class DownloadedMedia:
    """A file Baileys downloaded and decrypted, with the SHA-256 it computed over the bytes."""

    data: bytes
    sha256: bytes


@dataclass(frozen=True, slots=True)
class MessageEvent(DriverEvent):
    """messages.upsert, one event per message."""

    upsert_type: str | None
    key: MessageKey
    push_name: str | None
    text: str | None
    quoted_id: str | None
    reaction: Reaction | None
    content_types: tuple[str, ...]
    stub_type: int | None
    stub_parameters: tuple[str, ...]
    media: MediaInfo | None = None


@dataclass(frozen=True, slots=True)
class MessageStatusEvent(DriverEvent):
    """messages.update; `status` is None for updates that are not about delivery state."""

    key: MessageKey
    status: MessageStatus | None


@dataclass(frozen=True, slots=True)
class ReceiptEvent(DriverEvent):
    """message-receipt.update (per-user receipts, mostly in groups)."""

    key: MessageKey
    user_jid: str | None
    read_timestamp: int | None
    receipt_timestamp: int | None


@dataclass(frozen=True, slots=True)
class GroupsEvent(DriverEvent):
    change: str
    groups: tuple[GroupInfo, ...]


@dataclass(frozen=True, slots=True)
class HistoryEvent(DriverEvent):
    chats: int
    contacts: int
    messages: int
    is_latest: bool | None


@dataclass(frozen=True, slots=True)
class ErrorEvent(DriverEvent):
    where: str
    error: str
    status: int | None


def parse_event(raw: Mapping[str, Any]) -> DriverEvent:
    """Turns one driver event line into its typed form. Unknown kinds become OTHER; an event
    whose fields do not fit its type stays a plain DriverEvent (its `raw` is still there)."""
    try:
        kind = EventKind(str(raw.get("event")))
    except ValueError:
        kind = EventKind.OTHER
    base: dict[str, Any] = {
        "seq": _opt_int(raw, "seq") or 0,
        "kind": kind,
        "socket": _opt_int(raw, "socket"),
        "raw": raw,
    }
    try:
        return _typed_event(kind, raw, base)
    except (BaileysError, ValueError, TypeError):
        return DriverEvent(**base)


def _typed_event(kind: EventKind, raw: Mapping[str, Any], base: dict[str, Any]) -> DriverEvent:
    if kind is EventKind.CONNECTION:
        is_new_login = raw.get("isNewLogin")
        return ConnectionEvent(
            **base,
            connection=_opt_str(raw, "connection"),
            qr=_opt_str(raw, "qr"),
            is_new_login=is_new_login if isinstance(is_new_login, bool) else None,
            status=_opt_int(raw, "status"),
            status_name=_opt_str(raw, "statusName"),
            error=_opt_str(raw, "error"),
        )
    if kind is EventKind.CREDS:
        return CredsEvent(
            **base,
            fields=tuple(str(f) for f in raw.get("fields") or ()),
            me=Me.from_json(raw.get("me")),
        )
    if kind is EventKind.MESSAGE:
        extended = _mapping(raw.get("extendedText"))
        reaction_raw = raw.get("reaction")
        reaction = None
        if isinstance(reaction_raw, Mapping):
            reaction_key = reaction_raw.get("key")
            reaction = Reaction(
                text=str(reaction_raw.get("text") or ""),
                key=MessageKey.from_json(reaction_key)
                if isinstance(reaction_key, Mapping)
                else None,
            )
        return MessageEvent(
            **base,
            upsert_type=_opt_str(raw, "type"),
            key=MessageKey.from_json(_mapping(raw.get("key"))),
            push_name=_opt_str(raw, "pushName"),
            text=_opt_str(raw, "text"),
            quoted_id=_opt_str(extended, "quotedId"),
            reaction=reaction,
            content_types=tuple(str(t) for t in raw.get("contentTypes") or ()),
            stub_type=_opt_int(raw, "messageStubType"),
            stub_parameters=tuple(str(p) for p in raw.get("messageStubParameters") or ()),
            media=MediaInfo.from_json(raw.get("media")),
        )
    if kind is EventKind.MESSAGE_UPDATE:
        return MessageStatusEvent(
            **base,
            key=MessageKey.from_json(_mapping(raw.get("key"))),
            status=_message_status(_opt_int(raw, "status")),
        )
    if kind is EventKind.RECEIPT:
        return ReceiptEvent(
            **base,
            key=MessageKey.from_json(_mapping(raw.get("key"))),
            user_jid=_opt_str(raw, "userJid"),
            read_timestamp=_opt_int(raw, "readTimestamp"),
            receipt_timestamp=_opt_int(raw, "receiptTimestamp"),
        )
    if kind is EventKind.GROUPS:
        return GroupsEvent(
            **base,
            change=str(raw.get("kind") or ""),
            groups=tuple(
                GroupInfo.from_json(g) for g in raw.get("groups") or () if isinstance(g, Mapping)
            ),
        )
    if kind is EventKind.HISTORY:
        is_latest = raw.get("isLatest")
        return HistoryEvent(
            **base,
            chats=_opt_int(raw, "chats") or 0,
            contacts=_opt_int(raw, "contacts") or 0,
            messages=_opt_int(raw, "messages") or 0,
            is_latest=is_latest if isinstance(is_latest, bool) else None,
        )
    if kind is EventKind.ERROR:
        return ErrorEvent(
            **base,
            where=str(raw.get("where") or ""),
            error=str(raw.get("error") or ""),
            status=_opt_int(raw, "status"),
        )
    return DriverEvent(**base)


E = TypeVar("E", bound=DriverEvent)


# ---------------------------------------------------------------------------------------------
# the client


def _driver_env(debug: bool | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if debug is not None:
        env["BAILEYS_DEBUG"] = "1" if debug else "0"
    env.update(extra or {})
    return env


class BaileysClient:
    """One Baileys client in its own node process, driven over JSON lines."""

    def __init__(
        self,
        *,
        ws_url: str,
        auth_dir: Path,
        root_key: bytes | None = None,
        push_name: str = "wamd-interop",
        debug: bool | None = None,
        node: str | None = None,
        startup_timeout: float = 30.0,
        echo_stderr: bool = True,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        """`root_key` is the sandbox's 32-byte root public key (None keeps WhatsApp's).
        `debug` sets BAILEYS_DEBUG for the driver (None inherits it from this process).
        With `echo_stderr`, the driver's log lines are copied to sys.stderr, where pytest shows
        them next to a failing test. `extra_env` is added to the driver's environment (e.g.
        NODE_TLS_REJECT_UNAUTHORIZED=0 for a sandbox's self-signed media host, which Node's
        fetch reaches without the https Agent Baileys is given)."""
        if root_key is not None and len(root_key) != 32:
            raise ValueError(f"root key must be 32 bytes, got {len(root_key)}")
        self.ws_url = ws_url
        self.auth_dir = auth_dir
        self.root_key = root_key
        self.push_name = push_name
        self._debug = debug
        self._node = node or shutil.which("node") or "node"
        self._startup_timeout = startup_timeout
        self._echo_stderr = echo_stderr
        self._extra_env = dict(extra_env or {})
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._events: list[DriverEvent] = []
        self._changed = asyncio.Condition()
        self._exited = False
        self._stderr: deque[str] = deque(maxlen=_STDERR_TAIL)
        self.ready: DriverEvent | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        if self._proc is not None:
            raise BaileysError("driver already started")
        args = [str(DRIVER_PATH), "--url", self.ws_url, "--auth-dir", str(self.auth_dir)]
        args += ["--push-name", self.push_name]
        if self.root_key is not None:
            args += ["--root-key", self.root_key.hex()]
        self._proc = await asyncio.create_subprocess_exec(
            self._node,
            *args,
            cwd=INTEROP_DIR,
            env=_driver_env(self._debug, self._extra_env),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
        )
        self._tasks = [
            asyncio.create_task(self._read_stdout(), name="baileys-stdout"),
            asyncio.create_task(self._read_stderr(), name="baileys-stderr"),
        ]
        try:
            self.ready = await self.wait_for_event(
                lambda e: e.kind is EventKind.READY, timeout=self._startup_timeout
            )
        except BaseException:
            await self.close()
            raise

    async def close(self, timeout: float = 10.0) -> int | None:
        """Ends the driver (politely, then by force) and returns its exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.returncode is None and not self._exited:
            with contextlib.suppress(BaileysError):
                await self.command("end", timeout=timeout)
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            async with asyncio.timeout(timeout):
                await proc.wait()
        except TimeoutError:
            proc.terminate()
            try:
                async with asyncio.timeout(3.0):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for task in self._tasks:
            try:
                async with asyncio.timeout(3.0):
                    await task
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []
        return proc.returncode

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.returncode

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    # -- reading -----------------------------------------------------------------------------

    async def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        try:
            while line := await stdout.readline():
                await self._handle_line(line)
        finally:
            await self._mark_exited()

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while line := await self._proc.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self._stderr.append(text)
            if self._echo_stderr:
                print(f"[baileys] {text}", file=sys.stderr)

    async def _handle_line(self, line: bytes) -> None:
        try:
            raw = json.loads(line)
        except ValueError:  # not JSON, or not UTF-8
            self._stderr.append(f"[non-JSON stdout] {line.decode(errors='replace').rstrip()}")
            return
        if not isinstance(raw, dict):
            self._stderr.append(f"[non-object stdout] {raw!r}")
            return
        if "event" in raw:
            async with self._changed:
                self._events.append(parse_event(raw))
                self._changed.notify_all()
            return
        reply_id = raw.get("id")
        entry = self._pending.pop(reply_id, None) if isinstance(reply_id, int) else None
        if entry is None:
            self._stderr.append(f"[unmatched reply] {raw!r}")
            return
        cmd, future = entry
        if future.done():
            return
        if raw.get("ok") is True:
            future.set_result(raw)
        else:
            status = raw.get("status")
            future.set_exception(
                BaileysCommandError(
                    cmd, str(raw.get("error")), status if isinstance(status, int) else None
                )
            )

    async def _mark_exited(self) -> None:
        async with self._changed:
            self._exited = True
            self._changed.notify_all()
        for cmd, future in self._pending.values():
            if not future.done():
                future.set_exception(self._exit_error(f"while waiting for the reply to {cmd!r}"))
        self._pending.clear()

    def _exit_error(self, context: str) -> BaileysDriverExited:
        code = self.returncode
        return BaileysDriverExited(
            f"baileys driver exited (code {code}) {context}; stderr tail:\n{self.stderr_tail}"
        )

    # -- commands ----------------------------------------------------------------------------

    async def command(
        self, cmd: str, *, timeout: float = DEFAULT_COMMAND_TIMEOUT, **params: Any
    ) -> dict[str, Any]:
        """Sends one command and returns the driver's reply (raises on ok=false)."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise BaileysError("driver not started")
        if self._exited:
            raise self._exit_error(f"before {cmd!r} was sent")
        msg_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = (cmd, future)
        try:
            proc.stdin.write(json.dumps({"id": msg_id, "cmd": cmd, **params}).encode() + b"\n")
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as err:
            self._pending.pop(msg_id, None)
            raise self._exit_error(f"while sending {cmd!r}") from err
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            self._pending.pop(msg_id, None)
            raise BaileysTimeout(f"no reply to {cmd!r} within {timeout}s") from None

    async def connect(self, **socket_options: Any) -> int:
        """Creates the socket; returns its generation number. Options go to makeWASocket."""
        reply = await self.command("connect", options=socket_options)
        return int(reply["socket"])

    async def disconnect(self) -> None:
        await self.command("disconnect")

    async def me(self) -> Me | None:
        return Me.from_json((await self.command("me")).get("user"))

    async def get_root_key(self) -> bytes:
        return bytes.fromhex(str((await self.command("root_key"))["root_key"]))

    async def send_text(self, jid: str, text: str) -> MessageKey:
        return _sent_key(await self.command("send_text", jid=jid, text=text))

    async def send_reply(self, quoted_id: str, text: str, *, jid: str | None = None) -> MessageKey:
        """Replies to a message this client has seen (sent or received), quoting it."""
        params: dict[str, Any] = {"quoted_id": quoted_id, "text": text}
        if jid is not None:
            params["jid"] = jid
        return _sent_key(await self.command("send_reply", **params))

    async def send_reaction(
        self, key: MessageKey, emoji: str, *, jid: str | None = None
    ) -> MessageKey:
        """Reacts to `key` (an empty emoji removes the reaction)."""
        params: dict[str, Any] = {"key": key.to_json(), "emoji": emoji}
        if jid is not None:
            params["jid"] = jid
        return _sent_key(await self.command("send_reaction", **params))

    async def send_media(
        self,
        jid: str,
        kind: str,
        data: bytes,
        mimetype: str,
        *,
        ptt: bool = False,
        file_name: str | None = None,
        caption: str | None = None,
    ) -> MessageKey:
        """Sends a file: ``kind`` is image, audio (a voice note with ``ptt``) or document
        (which needs ``file_name``)."""
        params: dict[str, Any] = {
            "jid": jid,
            "type": kind,
            "data_base64": base64.b64encode(data).decode(),
            "mimetype": mimetype,
            "ptt": ptt,
        }
        if file_name is not None:
            params["fileName"] = file_name
        if caption is not None:
            params["caption"] = caption
        return _sent_key(await self.command("send_media", **params))

    async def download(self, message_id: str) -> DownloadedMedia:
        """Downloads and decrypts the file of a message this client has seen."""
        reply = await self.command("download", message_id=message_id)
        return DownloadedMedia(
            data=base64.b64decode(str(reply["data_base64"])),
            sha256=bytes.fromhex(str(reply["sha256"])),
        )

    async def read(self, keys: Sequence[MessageKey]) -> None:
        await self.command("read", keys=[k.to_json() for k in keys])

    async def group_create(self, subject: str, participants: Sequence[str]) -> GroupInfo:
        reply = await self.command("group_create", subject=subject, participants=list(participants))
        return GroupInfo.from_json(_mapping(reply.get("group")))

    async def group_send(self, group_jid: str, text: str) -> MessageKey:
        return _sent_key(await self.command("group_send", jid=group_jid, text=text))

    async def logout(self) -> None:
        await self.command("logout")

    async def end(self, timeout: float = 10.0) -> int | None:
        """Asks the driver to close its socket, save its state and exit; returns the exit code."""
        return await self.close(timeout)

    # -- events ------------------------------------------------------------------------------

    @property
    def events(self) -> Sequence[DriverEvent]:
        return tuple(self._events)

    def mark(self) -> int:
        """A cursor for `since=`: waits from here on ignore everything recorded before."""
        return len(self._events)

    @property
    def errors(self) -> list[ErrorEvent]:
        return [e for e in self._events if isinstance(e, ErrorEvent)]

    async def wait_for_event(
        self,
        predicate: Callable[[DriverEvent], bool],
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        *,
        since: int = 0,
    ) -> DriverEvent:
        """First recorded event (from index `since`) matching `predicate`, waiting if needed."""
        index = since
        try:
            async with asyncio.timeout(timeout):
                while True:
                    async with self._changed:
                        while len(self._events) <= index and not self._exited:
                            await self._changed.wait()
                        batch = self._events[index:]
                        exited = self._exited
                    for event in batch:
                        if predicate(event):
                            return event
                    index += len(batch)
                    if exited and not batch:
                        raise self._exit_error("before the awaited event arrived")
        except TimeoutError:
            recent = ", ".join(_summary(e) for e in self._events[-8:]) or "none"
            raise BaileysTimeout(
                f"no matching event within {timeout}s; last events: {recent}"
            ) from None

    async def wait_for(
        self,
        event_type: type[E],
        predicate: Callable[[E], bool] = lambda _e: True,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        *,
        since: int = 0,
    ) -> E:
        """Typed variant of wait_for_event: the first event of `event_type` matching `predicate`."""
        event = await self.wait_for_event(
            lambda e: isinstance(e, event_type) and predicate(e), timeout, since=since
        )
        assert isinstance(event, event_type)
        return event

    async def wait_qr(self, timeout: float = DEFAULT_WAIT_TIMEOUT, *, since: int = 0) -> str:
        event = await self.wait_for(
            ConnectionEvent, lambda e: e.qr is not None, timeout, since=since
        )
        assert event.qr is not None
        return event.qr

    async def wait_open(
        self, timeout: float = DEFAULT_WAIT_TIMEOUT, *, since: int = 0
    ) -> ConnectionEvent:
        return await self.wait_for(
            ConnectionEvent, lambda e: e.connection == "open", timeout, since=since
        )

    async def wait_close(
        self, timeout: float = DEFAULT_WAIT_TIMEOUT, *, since: int = 0
    ) -> ConnectionEvent:
        return await self.wait_for(
            ConnectionEvent, lambda e: e.connection == "close", timeout, since=since
        )

    async def wait_message(
        self,
        predicate: Callable[[MessageEvent], bool] = lambda _m: True,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        *,
        since: int = 0,
    ) -> MessageEvent:
        return await self.wait_for(MessageEvent, predicate, timeout, since=since)

    async def wait_text(
        self, text: str, timeout: float = DEFAULT_WAIT_TIMEOUT, *, since: int = 0
    ) -> MessageEvent:
        """An incoming (not fromMe) message with exactly this text."""
        return await self.wait_message(
            lambda m: m.text == text and not m.key.from_me, timeout, since=since
        )

    async def wait_status(
        self,
        msg_id: str,
        status: MessageStatus,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        *,
        at_least: bool = True,
        since: int = 0,
    ) -> MessageStatusEvent:
        """A messages.update for `msg_id` reaching `status` (or beyond, unless at_least=False):
        a message that was read has also been delivered even if that update was skipped."""

        def matches(e: MessageStatusEvent) -> bool:
            if e.key.id != msg_id or e.status is None:
                return False
            return e.status >= status if at_least else e.status == status

        return await self.wait_for(MessageStatusEvent, matches, timeout, since=since)

    async def pair(self, admin_base_url: str, timeout: float = 60.0) -> Me:
        """Connects, hands the first QR to the sandbox's mock phone and waits for the login that
        follows the post-pairing restart. Returns the paired identity."""
        start = self.mark()
        await self.connect()
        qr = await self.wait_qr(timeout, since=start)
        await post_scan_qr(admin_base_url, qr)
        await self.wait_open(timeout, since=start)
        me = await self.me()
        if me is None:
            raise BaileysError("connection opened but the client reports no user")
        return me


def _sent_key(reply: Mapping[str, Any]) -> MessageKey:
    return MessageKey.from_json(_mapping(reply.get("key")))


def _summary(event: DriverEvent) -> str:
    if isinstance(event, ConnectionEvent):
        detail = event.connection or ("qr" if event.qr else "update")
        if event.status is not None:
            detail += f"/{event.status}"
        return f"connection({detail})"
    if isinstance(event, ErrorEvent):
        return f"error({event.where}: {event.error})"
    return str(event.kind)


async def post_scan_qr(admin_base_url: str, qr: str, *, timeout: float = 10.0) -> str:
    """Hands a QR string to the sandbox's mock phone, as Baileys' own e2e harness does: the QR
    text is the whole request body. Returns the response body; raises on a non-2xx answer."""
    url = admin_base_url.rstrip("/") + SCAN_QR_PATH
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with (
        aiohttp.ClientSession(timeout=client_timeout) as session,
        session.post(
            url,
            data=qr.encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
            # the sandbox serves a self-signed certificate
            ssl=False,
        ) as response,
    ):
        body = await response.text()
        if not 200 <= response.status < 300:
            raise BaileysError(f"POST {url} returned {response.status}: {body[:500]}")
        return body
