"""Signal layer throughput on one core: pairwise, session setup, groups, records.

Run: .venv/bin/python bench/signal.py [--quick]

Figures (operations per second, best of several timed runs):
- pairwise encrypt / decrypt on a steady chain (pure core: record in, record out);
- pairwise encrypt+decrypt with a DH ratchet step on every message (the two sides alternate);
- session setup: initiator (bundle signature check, X3DH, first chain) and responder (X3DH,
  ratchet step, first decrypt of a pkmsg);
- group encrypt (signs) and decrypt (verifies), steady chain;
- store-backed: SessionCipher encrypt+decrypt through InMemorySignalStore, i.e. with the
  session record serialized and parsed on every load and save, as with SQLite;
- session record serialize / parse for a steady two-party record.

Plaintexts are 200-byte padded messages (a typical text message). Results go to
bench/results/signal.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from daemon.signal import group, keys, records, session
from daemon.signal.address import ProtocolAddress
from daemon.signal.cipher import SessionCipher
from daemon.signal.curve import KeyPair, generate_key_pair
from daemon.signal.memory_store import InMemorySignalStore
from daemon.signal.messages import parse_prekey_message
from daemon.signal.state import SessionRecord

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "signal.json"
PLAINTEXT = bytes(range(200))


def run_without_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Runs a coroutine that never suspends (the in-memory store does no I/O) without an event
    loop, which leaves event-loop overhead out of the figure."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("the store-backed benchmark suspended; it expects an in-memory store")


def best_rate(run: Callable[[int], None], count: int, repeats: int) -> float:
    """Operations per second of the fastest of ``repeats`` runs of ``count`` operations."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(count)
        best = min(best, time.perf_counter() - start)
    return count / best


class Device:
    def __init__(self) -> None:
        self.identity = keys.generate_identity_key_pair()
        self.signed = keys.generate_signed_prekey(self.identity, 1)
        self.prekeys = {p.key_id: p for p in keys.generate_prekeys(1, 5000)}

    def bundle(self, prekey_id: int) -> keys.PreKeyBundle:
        prekey = self.prekeys[prekey_id]
        return keys.PreKeyBundle(
            registration_id=2,
            identity_key=self.identity.public,
            signed_prekey_id=1,
            signed_prekey=self.signed.key_pair.public,
            signed_prekey_signature=self.signed.signature,
            prekey_id=prekey_id,
            prekey=prekey.key_pair.public,
        )


def established() -> tuple[SessionRecord, SessionRecord]:
    """(alice, bob) records after a message and a reply: both send ``msg``."""
    alice_device, bob_device = Device(), Device()
    alice = session.initiate_session(
        None, bob_device.bundle(1), identity=alice_device.identity, registration_id=1
    )
    first, alice = session.encrypt(alice, b"hello")
    result = session.decrypt_prekey_message(
        None,
        first.body,
        identity=bob_device.identity,
        registration_id=2,
        signed_prekey=bob_device.signed,
        prekey=bob_device.prekeys[1],
    )
    reply, bob = session.encrypt(result.record, b"hi")
    _, alice = session.decrypt(alice, reply.body)
    return alice, bob


def bench_pairwise(count: int, repeats: int) -> dict[str, float]:
    alice, bob = established()
    state = {"alice": alice, "bob": bob}

    def encrypt_run(n: int) -> None:
        record = state["alice"]
        encrypt = session.encrypt
        for _ in range(n):
            _, record = encrypt(record, PLAINTEXT)

    encrypt_rate = best_rate(encrypt_run, count, repeats)

    batches = []
    for _ in range(repeats):
        record = state["alice"]
        batch = []
        for _ in range(count):
            message, record = session.encrypt(record, PLAINTEXT)
            batch.append(message.body)
        state["alice"] = record
        batches.append(batch)

    def decrypt_run(n: int) -> None:
        record = state["bob"]
        decrypt = session.decrypt
        for body in batches.pop(0)[:n]:
            _, record = decrypt(record, body)
        state["bob"] = record

    decrypt_rate = best_rate(decrypt_run, count, repeats)

    def ping_pong(n: int) -> None:
        a, b = state["alice"], state["bob"]
        for _ in range(n // 2):
            message, a = session.encrypt(a, PLAINTEXT)
            _, b = session.decrypt(b, message.body)
            message, b = session.encrypt(b, PLAINTEXT)
            _, a = session.decrypt(a, message.body)
        state["alice"], state["bob"] = a, b

    # Every decrypt in ping_pong meets a new ratchet key: one encrypt + one stepping decrypt.
    ratchet_rate = best_rate(ping_pong, count // 4 * 2, repeats)
    return {
        "pairwise_encrypt_per_s": encrypt_rate,
        "pairwise_decrypt_per_s": decrypt_rate,
        "pairwise_encrypt_plus_ratchet_step_decrypt_per_s": ratchet_rate,
    }


def bench_setup(count: int, repeats: int) -> dict[str, float]:
    alice_device, bob_device = Device(), Device()
    prekey_ids = iter(range(1, 5001))

    def initiate(n: int) -> None:
        bundle = bob_device.bundle(1)
        for _ in range(n):
            session.initiate_session(
                None, bundle, identity=alice_device.identity, registration_id=1
            )

    initiate_rate = best_rate(initiate, count, repeats)

    pending = []
    for _ in range(repeats):
        batch = []
        for _ in range(count):
            prekey_id = next(prekey_ids)
            record = session.initiate_session(
                None,
                bob_device.bundle(prekey_id),
                identity=alice_device.identity,
                registration_id=1,
            )
            message, _ = session.encrypt(record, PLAINTEXT)
            batch.append(message.body)
        pending.append(batch)

    def respond(n: int) -> None:
        for body in pending.pop(0)[:n]:
            parsed = parse_prekey_message(body)
            prekey_id = parsed.prekey_id
            session.decrypt_prekey_message(
                None,
                parsed,
                identity=bob_device.identity,
                registration_id=2,
                signed_prekey=bob_device.signed,
                prekey=None if prekey_id is None else bob_device.prekeys[prekey_id],
            )

    respond_rate = best_rate(respond, count, repeats)
    return {
        "session_setup_initiator_per_s": initiate_rate,
        "session_setup_responder_per_s": respond_rate,
    }


def bench_group(count: int, repeats: int) -> dict[str, float]:
    own = group.new_own_sender_key()
    receiver = group.process_distribution_message(None, group.distribution_message(own))
    state = {"own": own, "receiver": receiver}

    def encrypt_run(n: int) -> None:
        record = state["own"]
        for _ in range(n):
            _, record = group.group_encrypt(record, PLAINTEXT)

    encrypt_rate = best_rate(encrypt_run, count, repeats)
    batches = []
    for _ in range(repeats):
        record = state["own"]
        batch = []
        for _ in range(count):
            ciphertext, record = group.group_encrypt(record, PLAINTEXT)
            batch.append(ciphertext)
        state["own"] = record
        batches.append(batch)

    def decrypt_run(n: int) -> None:
        record = state["receiver"]
        for ciphertext in batches.pop(0)[:n]:
            _, record = group.group_decrypt(record, ciphertext)
        state["receiver"] = record

    decrypt_rate = best_rate(decrypt_run, count, repeats)
    return {"group_encrypt_per_s": encrypt_rate, "group_decrypt_per_s": decrypt_rate}


def bench_store(count: int, repeats: int) -> dict[str, float]:
    alice_record, bob_record = established()
    alice_address, bob_address = ProtocolAddress("alice", 1), ProtocolAddress("bob", 1)

    def store_for(record: SessionRecord, peer: ProtocolAddress, key: KeyPair) -> Any:
        store = InMemorySignalStore(key, 1, accept_identity_changes=True)
        store.sessions[peer] = records.serialize_session_record(record)
        return store

    alice_store = store_for(alice_record, bob_address, generate_key_pair())
    bob_store = store_for(bob_record, alice_address, generate_key_pair())
    alice_cipher, bob_cipher = SessionCipher(alice_store), SessionCipher(bob_store)

    async def exchange(n: int) -> None:
        for _ in range(n):
            encrypted = await alice_cipher.encrypt(bob_address, PLAINTEXT)
            await bob_cipher.decrypt(alice_address, encrypted.message.type, encrypted.message.body)

    def run(n: int) -> None:
        run_without_loop(exchange(n))

    return {"store_backed_encrypt_plus_decrypt_per_s": best_rate(run, count, repeats)}


def bench_records(count: int, repeats: int) -> dict[str, float]:
    record, _ = established()
    data = records.serialize_session_record(record)

    def serialize(n: int) -> None:
        for _ in range(n):
            records.serialize_session_record(record)

    def parse(n: int) -> None:
        for _ in range(n):
            records.deserialize_session_record(data)

    return {
        "session_record_bytes": float(len(data)),
        "session_record_serialize_per_s": best_rate(serialize, count, repeats),
        "session_record_parse_per_s": best_rate(parse, count, repeats),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer operations (smoke run)")
    args = parser.parse_args(argv)
    scale, repeats = (200, 2) if args.quick else (4000, 5)
    figures: dict[str, float] = {}
    figures |= bench_pairwise(scale, repeats)
    figures |= bench_setup(max(scale // 10, 20), repeats)
    figures |= bench_group(max(scale // 4, 20), repeats)
    figures |= bench_store(max(scale // 4, 20), repeats)
    figures |= bench_records(scale, repeats)
    for name, value in figures.items():
        print(f"{name:52} {value:>12,.0f}")
    result = {
        "benchmark": "signal",
        "quick": args.quick,
        "plaintext_bytes": len(PLAINTEXT),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "figures": {name: round(value, 1) for name, value in figures.items()},
    }
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
