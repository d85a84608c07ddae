"""Privacy tokens: what the service demands of a 1:1 message since 2026 (pure).

Facts (whatsmeow tctoken.go, cstoken.go, notification.go, send.go; Baileys tc-token-utils):

* a contact lets us write to them by issuing a trusted-contact token to us; the service hands it
  over in ``notification type=privacy_token from=<contact> [sender_lid] > tokens >
  token(jid, t, type=trusted_contact)``, and history sync carries it per conversation
  (``tcToken``, ``tcTokenTimestamp``). Tokens are kept under the contact's LID;
* a token is good for 4 rolling buckets of 7 days; a 1:1 message carries it as ``tctoken``,
  or, without one, a ``cstoken`` = HMAC-SHA256(our NCT salt, the recipient's LID as a string);
* after sending we issue our own token to the contact, once per bucket:
  ``iq xmlns=privacy type=set > tokens > token(jid, t, type=trusted_contact)``;
* a 1:1 message the service refuses for want of a token is nacked 463; the answer is to issue
  our token (recovery), never to resend blindly (a resend counts as another reach-out).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from daemon.binary import JID, AttrError, JIDError, Node
from daemon.client.iq import build_iq

TOKEN_BUCKET_S = 604_800
TOKEN_BUCKETS = 4
NACK_NO_PRIVACY_TOKEN = 463
TRUSTED_CONTACT = "trusted_contact"


def token_cutoff(now: float) -> int:
    """Tokens issued before this unix time have expired."""
    return (int(now) // TOKEN_BUCKET_S - (TOKEN_BUCKETS - 1)) * TOKEN_BUCKET_S


def token_usable(token_at: int, now: float) -> bool:
    return token_at > 0 and token_at >= token_cutoff(now)


def issue_due(sender_at: int, now: float) -> bool:
    """True when we have not issued our token to the contact in the current bucket."""
    return sender_at <= 0 or int(now) // TOKEN_BUCKET_S > sender_at // TOKEN_BUCKET_S


def tokens_apply(jid: JID) -> bool:
    """Tokens go with messages to people (PN or LID users), not to groups, bots or PSA."""
    plain = jid.to_non_ad()
    return (plain.is_pn or plain.is_lid) and plain.user != "0"


def cstoken(nct_salt: bytes, recipient_lid: JID) -> bytes:
    return hmac.new(nct_salt, str(recipient_lid.to_non_ad()).encode(), hashlib.sha256).digest()


def tctoken_node(token: bytes) -> Node:
    return Node("tctoken", {}, token)


def cstoken_node(nct_salt: bytes, recipient_lid: JID) -> Node:
    return Node("cstoken", {}, cstoken(nct_salt, recipient_lid))


def build_issue_iq(contact: JID, now: float) -> Node:
    token = Node("token", {"jid": contact.to_non_ad(), "t": str(int(now)), "type": TRUSTED_CONTACT})
    return build_iq("privacy", "set", [Node("tokens", {}, [token])])


@dataclass(frozen=True, slots=True)
class ReceivedToken:
    contact: JID
    """Who issued it (``from``)."""
    contact_lid: JID | None
    """``sender_lid`` when the service gave it."""
    token: bytes
    issued_at: int


def parse_privacy_token_notification(node: Node) -> list[ReceivedToken]:
    """The trusted-contact tokens a ``privacy_token`` notification hands us (others skipped)."""
    try:
        contact = node.attr_jid("from")
        contact_lid = node.attr_jid("sender_lid")
    except (AttrError, JIDError):
        return []
    tokens = node.child("tokens")
    if contact is None or tokens is None:
        return []
    found: list[ReceivedToken] = []
    for token in tokens.children_by_tag("token"):
        body = token.content_bytes()
        try:
            issued_at = token.attr_int("t") or 0
        except AttrError:
            continue
        if token.attr_str("type") != TRUSTED_CONTACT or not body or issued_at <= 0:
            continue
        found.append(
            ReceivedToken(
                contact.to_non_ad(),
                contact_lid.to_non_ad() if contact_lid is not None else None,
                body,
                issued_at,
            )
        )
    return found
