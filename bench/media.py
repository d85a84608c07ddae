"""Media, LTHash and app-state crypto throughput.

Run: .venv/bin/python bench/media.py [--quick]

- media: streaming encrypt and decrypt (MAC, both hashes and padding checked) of a 16 MiB file fed
  in 64 KiB chunks, in MB/s of plaintext (1 MB = 10**6 bytes); plus the one-shot helpers.
- lthash: value MACs mixed into a state per second (HKDF expansion + lane arithmetic), and the
  lane arithmetic alone.
- appstate: mutations per second through encode_patch and decode_patch (100 SETs per patch, every
  MAC verified), the cost a large contact-list sync pays.

Each figure is the best of several rounds. Results go to bench/results/media.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon.crypto import lthash
from daemon.crypto.appstate import (
    CollectionState,
    PendingMutation,
    SyncActionValue,
    decode_patch,
    encode_patch,
)
from daemon.crypto.media import (
    MediaDecryptor,
    MediaEncryptor,
    MediaType,
    decrypt_media,
    encrypt_media,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "media.json"
CHUNK = 64 * 1024


def best_seconds(run: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def bench_media(size: int, rounds: int) -> dict[str, float]:
    plaintext = os.urandom(size)
    key = os.urandom(32)
    chunks = [plaintext[i : i + CHUNK] for i in range(0, size, CHUNK)]
    encrypted = encrypt_media(plaintext, MediaType.VIDEO, key)
    body_chunks = [encrypted.body[i : i + CHUNK] for i in range(0, len(encrypted.body), CHUNK)]

    def stream_encrypt() -> None:
        encryptor = MediaEncryptor(MediaType.VIDEO, key)
        for chunk in chunks:
            encryptor.feed(chunk)
        encryptor.finalize()

    def stream_decrypt() -> None:
        decryptor = MediaDecryptor(
            key,
            MediaType.VIDEO,
            file_enc_sha256=encrypted.info.file_enc_sha256,
            file_sha256=encrypted.info.file_sha256,
        )
        for chunk in body_chunks:
            decryptor.feed(chunk)
        decryptor.finalize()

    def one_shot_decrypt() -> None:
        decrypt_media(
            encrypted.body,
            key,
            MediaType.VIDEO,
            file_enc_sha256=encrypted.info.file_enc_sha256,
            file_sha256=encrypted.info.file_sha256,
        )

    megabytes = size / 1e6
    return {
        "file_bytes": float(size),
        "chunk_bytes": float(CHUNK),
        "stream_encrypt_mb_per_s": round(megabytes / best_seconds(stream_encrypt, rounds), 1),
        "stream_decrypt_mb_per_s": round(megabytes / best_seconds(stream_decrypt, rounds), 1),
        "one_shot_encrypt_mb_per_s": round(
            megabytes
            / best_seconds(lambda: encrypt_media(plaintext, MediaType.VIDEO, key), rounds),
            1,
        ),
        "one_shot_decrypt_mb_per_s": round(megabytes / best_seconds(one_shot_decrypt, rounds), 1),
    }


def bench_lthash(count: int, rounds: int) -> dict[str, float]:
    macs = [os.urandom(32) for _ in range(count)]
    states = [os.urandom(128) for _ in range(count)]
    mix = best_seconds(
        lambda: lthash.subtract_then_add(lthash.EMPTY, macs[: count // 2], macs), rounds
    )
    lanes = best_seconds(lambda: [lthash.add_lanes(s, s) for s in states], rounds)
    mixed = count + count // 2
    return {
        "value_macs_mixed_per_s": round(mixed / mix, 1),
        "lane_additions_per_s": round(count / lanes, 1),
    }


def bench_appstate(count: int, rounds: int) -> dict[str, float]:
    key_id, key_data = b"bench-key", os.urandom(32)
    mutations = []
    for n in range(count):
        value = SyncActionValue()
        value.contactAction.fullName = f"Contact {n}"
        mutations.append(
            PendingMutation(("contact", f"{15550000000 + n}@s.whatsapp.net"), value, 2)
        )
    state = CollectionState("critical_unblock_low")
    encoded = encode_patch(state, mutations, key_id, key_data)
    encode = best_seconds(lambda: encode_patch(state, mutations, key_id, key_data), rounds)
    decode = best_seconds(lambda: decode_patch(encoded.patch, state, lambda _: key_data), rounds)
    return {
        "mutations_per_patch": float(count),
        "encode_mutations_per_s": round(count / encode, 1),
        "decode_mutations_per_s": round(count / decode, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, fewer rounds")
    args = parser.parse_args()
    rounds = 2 if args.quick else 5
    size = (2 if args.quick else 16) * 1024 * 1024
    figures: dict[str, Any] = {}
    figures.update(bench_media(size, rounds))
    figures.update(bench_lthash(1_000 if args.quick else 10_000, rounds))
    figures.update(bench_appstate(100, rounds))
    result = {
        "benchmark": "media",
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "figures": figures,
    }
    for name, value in figures.items():
        print(f"{name:32} {value:>14,.1f}")
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
