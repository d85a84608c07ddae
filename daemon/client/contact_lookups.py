"""Lookups about people for one session: which numbers are on WhatsApp (usync, in batches),
their profile pictures (cached for a while: the answer changes rarely and every query is a
round trip), and PN ↔ LID. What a check teaches (a number's LID) is stored like any other
mapping the session learns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from daemon.binary import JID
from daemon.client.contact_queries import (
    CHECK_BATCH,
    NumberCheck,
    PictureInfo,
    build_number_check,
    build_picture_query,
    parse_number_check,
    parse_picture,
)
from daemon.client.errors import IqError
from daemon.client.ids import new_message_id
from daemon.client.message_context import MessagingContext

PICTURE_TTL_S = 600.0
PICTURE_CACHE_MAX = 2048


class ContactLookups:
    def __init__(
        self,
        m: MessagingContext,
        *,
        picture_ttl: float = PICTURE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._m = m
        self._ttl = picture_ttl
        self._clock = clock
        self._pictures: dict[tuple[JID, bool], tuple[float, PictureInfo | None]] = {}

    async def check(self, numbers: Sequence[str]) -> list[NumberCheck]:
        """Which of ``numbers`` (digits only) are on WhatsApp, in the order asked."""
        m = self._m
        connection = m.require_connection()
        found: dict[str, NumberCheck] = {}
        for start in range(0, len(numbers), CHECK_BATCH):
            batch = numbers[start : start + CHECK_BATCH]
            sid = new_message_id(m.addressing.own_pn.user, m.now())
            answer = await connection.query(build_number_check(batch, sid))
            for result in parse_number_check(answer):
                found[result.number] = result
                await self._learn(result)
        return [found.get(n, NumberCheck(n, None, False, None, None)) for n in numbers]

    async def _learn(self, result: NumberCheck) -> None:
        m = self._m
        if not result.on_whatsapp or result.jid is None or result.lid is None:
            return
        if result.jid.is_pn and m.addressing.learn(result.jid, result.lid):
            await m.messages.contacts.learn(m.session_id, pn=str(result.jid), lid=str(result.lid))

    async def picture(self, target: JID, *, preview: bool = False) -> PictureInfo | None:
        """The profile picture of ``target`` (None: it has none). Raises IqError 401 when
        the person's privacy settings hide it from us."""
        key = (target.to_non_ad(), preview)
        now = self._clock()
        cached = self._pictures.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        connection = self._m.require_connection()
        try:
            info: PictureInfo | None = parse_picture(
                await connection.query(build_picture_query(target, preview=preview))
            )
        except IqError as exc:
            if exc.code != 404:
                raise
            info = None
        if len(self._pictures) >= PICTURE_CACHE_MAX:
            self._pictures = {k: v for k, v in self._pictures.items() if v[0] > now}
        self._pictures[key] = (now + self._ttl, info)
        return info

    def forget_picture(self, target: JID) -> None:
        for preview in (False, True):
            self._pictures.pop((target.to_non_ad(), preview), None)

    async def lid_of(self, pn: JID) -> JID | None:
        """The LID of a phone number: known already, else asked of the server."""
        m = self._m
        await m.prepare()
        known = m.addressing.lid_of(pn)
        if known is not None:
            return known
        [result] = await self.check([pn.user])
        return result.lid if result.on_whatsapp else None

    async def pn_of(self, lid: JID) -> JID | None:
        """The phone number of a LID, when this session has learnt it (the server does not
        tell: the LID exists to hide it)."""
        await self._m.prepare()
        return self._m.addressing.pn_of(lid)


__all__ = ["PICTURE_TTL_S", "ContactLookups"]
