"""Message and request ids in the formats WhatsApp's own clients use.

Message ids are ``3EB0`` followed by 18 upper-case hex digits: the first 9 bytes of SHA-256 over
the current unix time (8 bytes, big-endian), our own user JID with ``@c.us`` and 16 random bytes.
Request (iq) ids are a per-connection random prefix and a counter, ``"1234.5678-9"``.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable

MESSAGE_ID_PREFIX = "3EB0"


def new_message_id(
    own_user: str, now: float, random_bytes: Callable[[int], bytes] = os.urandom
) -> str:
    digest = hashlib.sha256()
    digest.update(int(now).to_bytes(8, "big"))
    if own_user:
        digest.update(f"{own_user}@c.us".encode())
    digest.update(random_bytes(16))
    return MESSAGE_ID_PREFIX + digest.digest()[:9].hex().upper()


class RequestIds:
    def __init__(self, random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        raw = random_bytes(4)
        self._prefix = f"{int.from_bytes(raw[:2], 'big')}.{int.from_bytes(raw[2:], 'big')}-"
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter)}"
