"""Who is on WhatsApp, and profile pictures (pure).

* Number check (whatsmeow ``IsOnWhatsApp``, user.go): ``iq(xmlns=usync, type=get) >
  usync(sid, mode=query, context=interactive, last=true, index=0) > [query > [business >
  verified_name, contact, lid], list > user > contact(+<number>)*]``; each answered ``user(jid)``
  carries ``contact(type=in|out)`` with the number asked as content, ``lid(val)`` and, for a
  verified business, ``business > verified_name``.
* Profile picture (whatsmeow ``GetProfilePictureInfo``): ``iq(xmlns=w:profile:picture,
  type=get, to=s.whatsapp.net, target=<jid>) > picture(query=url, type=image|preview[, id])``
  answered ``picture(id, url, type, direct_path)``; 404 when there is none, 401 when privacy
  hides it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from daemon.binary import JID, AttrError, JIDError, Node
from daemon.client.errors import StanzaError
from daemon.client.iq import build_iq

CHECK_BATCH = 50
"""Numbers per usync query (several queries for a longer list)."""


def build_number_check(numbers: Sequence[str], sid: str) -> Node:
    """``numbers`` are international numbers, digits only."""
    if not numbers:
        raise ValueError("name at least one number")
    query = Node(
        "query",
        {},
        [Node("business", {}, [Node("verified_name")]), Node("contact"), Node("lid")],
    )
    users = [Node("user", {}, [Node("contact", {}, f"+{n}".encode())]) for n in numbers]
    usync = Node(
        "usync",
        {"sid": sid, "mode": "query", "last": "true", "index": "0", "context": "interactive"},
        [query, Node("list", {}, users)],
    )
    return build_iq("usync", "get", [usync])


@dataclass(frozen=True, slots=True)
class NumberCheck:
    number: str
    """As asked, digits only."""
    jid: JID | None
    on_whatsapp: bool
    lid: JID | None
    business_name: str | None


def parse_number_check(answer: Node) -> list[NumberCheck]:
    listed = answer.child("usync", "list")
    if listed is None:
        raise StanzaError("usync answer without usync > list")
    found: list[NumberCheck] = []
    for user in listed.children_by_tag("user"):
        try:
            jid = user.attr_jid("jid")
            lid_node = user.child("lid")
            lid = lid_node.attr_jid("val") if lid_node is not None else None
        except (AttrError, JIDError) as exc:
            raise StanzaError(f"usync user: {exc}") from None
        contact = user.child("contact")
        asked = (contact.content_bytes() or b"") if contact is not None else b""
        number = "".join(ch for ch in asked.decode("utf-8", "replace") if ch.isdigit())
        if not number and jid is not None:
            number = jid.user
        verified = user.child("business", "verified_name")
        business = verified.attr_str("name") if verified is not None else None
        found.append(
            NumberCheck(
                number=number,
                jid=jid.to_non_ad() if jid is not None else None,
                on_whatsapp=contact is not None and contact.attr_str("type") == "in",
                lid=lid.to_non_ad() if lid is not None and lid.user else None,
                business_name=business or None,
            )
        )
    return found


def build_picture_query(target: JID, *, preview: bool = False, known_id: str = "") -> Node:
    attrs: dict[str, str | JID] = {"query": "url", "type": "preview" if preview else "image"}
    if known_id:
        attrs["id"] = known_id
    return build_iq("w:profile:picture", "get", [Node("picture", attrs)], target=target.to_non_ad())


@dataclass(frozen=True, slots=True)
class PictureInfo:
    id: str
    url: str
    kind: str
    """"image" or "preview"."""
    direct_path: str


def parse_picture(answer: Node) -> PictureInfo:
    picture = answer.child("picture")
    if picture is None:
        raise StanzaError("w:profile:picture answer without <picture>")
    return PictureInfo(
        id=picture.attr_str("id") or "",
        url=picture.attr_str("url") or "",
        kind=picture.attr_str("type") or "image",
        direct_path=picture.attr_str("direct_path") or "",
    )


__all__ = [
    "CHECK_BATCH",
    "NumberCheck",
    "PictureInfo",
    "build_number_check",
    "build_picture_query",
    "parse_number_check",
    "parse_picture",
]
