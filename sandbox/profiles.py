"""Profile pictures as the service keeps them: a phone sets one (stored on the media host, so
its URL downloads like any media), and ``iq xmlns=w:profile:picture type=get target=<jid> >
picture(query=url, type=image|preview[, id])`` answers ``picture(id, url, type, direct_path)``;
404 when the person has none, 304 when the caller already has the current ``id`` (whatsmeow
user.go). Kept in memory: a restarted sandbox starts without pictures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.binary import Node
from sandbox.iq import IqContext, IqFailure, bad_request
from sandbox.stanzas import iq_result

if TYPE_CHECKING:
    from sandbox.network import Network


@dataclass(frozen=True, slots=True)
class ProfilePicture:
    id: str
    direct_path: str


class ProfilePictures:
    def __init__(self, network: Network) -> None:
        self._network = network
        self._by_user: dict[str, ProfilePicture] = {}
        self._next_id = 1_700_000_000

    async def set(self, phone_user: str, image: bytes) -> ProfilePicture:
        network = self._network
        stored = await network.media.put("image", image, network.now())
        self._next_id += 1
        picture = ProfilePicture(str(self._next_id), stored.direct_path)
        self._by_user[phone_user] = picture
        return picture

    def get(self, phone_user: str) -> ProfilePicture | None:
        return self._by_user.get(phone_user)


async def handle_iq(ctx: IqContext, iq: Node) -> Node | None:
    if iq.attr_str("type") != "get":
        return iq_result(iq)
    target = iq.attr_jid("target")
    asked = iq.child("picture")
    if target is None or asked is None:
        raise bad_request("picture queries name a target and a <picture>")
    account = ctx.network.directory.account_of(target.to_non_ad())
    picture = ctx.network.pictures.get(account.phone_user) if account is not None else None
    if picture is None:
        raise IqFailure(404, "item-not-found")
    if asked.attr_str("id") == picture.id:
        raise IqFailure(304, "not-modified")
    kind = asked.attr_str("type") or "image"
    url = ctx.network.media.origin + picture.direct_path
    attrs = {"id": picture.id, "url": url, "type": kind, "direct_path": picture.direct_path}
    return iq_result(iq, [Node("picture", dict(attrs))])


__all__ = ["ProfilePicture", "ProfilePictures", "handle_iq"]
