"""History sync ingest throughput: messages per second from encrypted blobs into SQLite.

Run: .venv/bin/python bench/history_ingest.py [--quick]

End to end as a linked device does it, minus the network: each chunk is an encrypted
(media type History) zlib blob of a HistorySync, as a phone uploads it. The clock starts before
the first blob is decrypted and stops after the last batch committed (synchronous=FULL, the
production default: one fsync per batch), and covers decrypt, inflate, parse, summarizing
every message, the message rows, chat previews and the chunk rows. A second run pushes the same
chunks again (every message already stored: the idempotent path).

Messages are realistic in size (short texts, a media message every tenth, ~300 bytes per
row). Results go to bench/results/history_ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog

from daemon.client.context import ClientOptions, SessionContext
from daemon.client.credentials import credentials_for_pairing
from daemon.client.events import EventBus
from daemon.client.history_sync import HistorySync, HistorySyncOptions
from daemon.client.media_download import MediaRef
from daemon.client.message_context import MessagingContext, MessagingOptions
from daemon.client.prekeys import PreKeyManager
from daemon.client.signal_store import AuthSignalStore
from daemon.client.sinks import NoEventSink
from daemon.config import WhatsAppConfig
from daemon.crypto.history import (
    HistoryConversation,
    HistoryMessage,
    HistorySyncKind,
    MessageStatus,
    build_history_sync,
)
from daemon.crypto.media import MediaType, decrypt_media, encrypt_media
from storage.db import Database, Synchronous
from storage.sqlite.message_store import SqliteMessageStore
from storage.sqlite.store import SqliteStore
from storage.sqlite.sync_store import SqliteSyncStore
from waproto import wa_e2e_pb2

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "history_ingest.json"
WORDS = ("lunch", "tomorrow", "invoice", "photos", "meeting", "ok", "thanks", "see you", "café")


def chunk_blobs(chats: int, per_chat: int, chunks: int) -> list[tuple[bytes, bytes, int]]:
    """(encrypted body, media key, message count) per chunk; chats are split across chunks."""
    rng = random.Random(7)
    out = []
    for c in range(chunks):
        conversations = []
        messages = []
        for k in range(chats // chunks):
            n = c * (chats // chunks) + k
            chat = f"1999{n:07d}@s.whatsapp.net"
            conversations.append(HistoryConversation(chat, name=f"Chat {n}"))
            for j in range(per_chat):
                body: wa_e2e_pb2.Message
                if j % 10 == 9:
                    body = wa_e2e_pb2.Message(
                        imageMessage=wa_e2e_pb2.ImageMessage(
                            URL="https://mmg.whatsapp.net/v/t62.7118-24/x.enc",
                            directPath="/v/t62.7118-24/0123456789abcdef.enc?ccb=11-4",
                            mimetype="image/jpeg",
                            mediaKey=os.urandom(32),
                            fileSHA256=os.urandom(32),
                            fileEncSHA256=os.urandom(32),
                            fileLength=rng.randrange(10_000, 900_000),
                            caption="a photo",
                        )
                    )
                else:
                    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12)))
                    body = wa_e2e_pb2.Message(conversation=words)
                messages.append(
                    HistoryMessage(
                        chat_jid=chat,
                        message_id=f"3EB0{n:06d}{j:012d}",
                        from_me=rng.random() < 0.35,
                        sender=None,
                        timestamp=1_700_000_000 + j * 600 + n,
                        message=body.SerializeToString(),
                        status=MessageStatus.READ,
                        push_name="Someone",
                        order_id=j + 1,
                    )
                )
        blob = build_history_sync(
            HistorySyncKind.RECENT, conversations=conversations, messages=messages
        )
        encrypted = encrypt_media(blob, MediaType.HISTORY)
        out.append((encrypted.body, encrypted.media_key, len(messages)))
    return out


SESSION = "bench"


class Offline:
    """What history sync uses of a connection when nothing is downloaded over the network."""

    ended = False

    async def send(self, node: object) -> None:
        return None

    async def query(self, node: object, timeout: float | None = None) -> object:
        raise AssertionError("the bench downloads nothing over the network")


async def messaging_context(db: Database) -> MessagingContext:
    """A paired session's messaging context over ``db`` (no socket)."""
    auth = SqliteStore(db)
    await auth.sessions.create(SESSION)
    await credentials_for_pairing(auth, SESSION)
    credentials = await auth.credentials.mark_paired(
        SESSION,
        signed_device_identity=b"adv",
        pn_jid="15550001111:7@s.whatsapp.net",
        lid_jid=None,
        platform="android",
        push_name="Bench",
    )
    log = structlog.get_logger("bench")
    session = SessionContext(
        session_id=SESSION,
        store=auth,
        config=WhatsAppConfig(),
        options=ClientOptions(),
        bus=EventBus(),
        log=log,
        prekeys=PreKeyManager(auth, SESSION, log),
        credentials=credentials,
    )
    return MessagingContext(
        session,
        SqliteMessageStore(db),
        AuthSignalStore(auth, SESSION),
        NoEventSink(),
        MessagingOptions(),
    )


class Decrypting:
    """The downloader's place: the encrypted blob is 'downloaded' from memory and decrypted."""

    def __init__(self, bodies: dict[str, tuple[bytes, bytes]]) -> None:
        self._bodies = bodies

    async def to_bytes(self, query: object, ref: MediaRef, *, limit: int = 0) -> bytes:
        body, key = self._bodies[ref.direct_path]
        return decrypt_media(body, key, MediaType.HISTORY)


async def run(chats: int, per_chat: int, chunks: int) -> dict[str, float]:
    blobs = chunk_blobs(chats, per_chat, chunks)
    total = sum(count for _, _, count in blobs)
    bodies = {f"/v/h{i}?x": (body, key) for i, (body, key, _) in enumerate(blobs)}
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "bench.db", synchronous=Synchronous.FULL)
        try:
            return await ingest(db, bodies, total, chunks)
        finally:
            await db.close()


async def ingest(
    db: Database, bodies: dict[str, tuple[bytes, bytes]], total: int, chunks: int
) -> dict[str, float]:
    m = await messaging_context(db)
    connection = Offline()
    history = HistorySync(
        m,
        SqliteSyncStore(db),
        Decrypting(bodies),  # type: ignore[arg-type]
        lambda event: None,
        HistorySyncOptions(),
    )
    figures: dict[str, float] = {"messages": float(total), "chunks": float(chunks)}
    for label, prefix in (("first", "A"), ("again", "B")):
        start = time.perf_counter()
        for i, path in enumerate(bodies):
            notification = wa_e2e_pb2.HistorySyncNotification(
                directPath=path,
                mediaKey=bodies[path][1],
                syncType=wa_e2e_pb2.RECENT,
                chunkOrder=i + 1,
            )
            await history.process(f"{prefix}{i}", notification, connection)  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
        figures[f"{label}_seconds"] = round(seconds, 3)
        figures[f"{label}_messages_per_s"] = round(total / seconds, 1)
    stored = await m.messages.messages.count(SESSION)
    assert stored == total, (stored, total)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (for a smoke test)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    if args.quick:
        chats, per_chat, chunks = 40, 50, 2
    else:
        chats, per_chat, chunks = 400, 250, 4
    figures = asyncio.run(run(chats, per_chat, chunks))
    result: dict[str, Any] = {
        "benchmark": "history_ingest",
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "figures": figures,
    }
    for name, value in figures.items():
        print(f"{name:>28}: {value:,.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
