"""How the simulated phone meets the 2026 service rules (``sandbox.service_rules``) as a real
client does: 1:1 messages go to the peer's LID with the phone number as ``peer_recipient_pn``,
carry the peer's ``tctoken`` (or a ``cstoken`` from our NCT salt), and after a send the phone
issues its own token to the peer once per 7-day bucket (``iq xmlns=privacy``)."""

from __future__ import annotations

from daemon.binary import JID, SERVER_JID, Node
from sandbox.directory import Account
from sandbox.service_rules import TOKEN_BUCKET_S, ServiceRules, cstoken


def token_node(rules: ServiceRules, own: Account, peer: Account, now: int) -> Node | None:
    """``tctoken`` when the peer gave us one, else ``cstoken`` (None without a salt)."""
    issued = rules.token(peer.phone_user, own.phone_user, now)
    if issued is not None:
        return Node("tctoken", {}, issued.token)
    salt = rules.of(own.phone_user).nct_salt
    return Node("cstoken", {}, cstoken(salt, peer.lid)) if salt else None


def issue_token_iq(iq_id: str, peer: JID, now: int) -> Node:
    token = Node("token", {"jid": peer.to_non_ad(), "t": str(now), "type": "trusted_contact"})
    return Node(
        "iq",
        {"id": iq_id, "xmlns": "privacy", "type": "set", "to": SERVER_JID},
        [Node("tokens", {}, [token])],
    )


class TokenIssuance:
    """When we last issued our token to each peer: once per bucket is enough."""

    def __init__(self) -> None:
        self._bucket: dict[str, int] = {}

    def due(self, peer: Account, now: int) -> bool:
        return self._bucket.get(peer.phone_user) != now // TOKEN_BUCKET_S

    def issued(self, peer: Account, now: int) -> None:
        self._bucket[peer.phone_user] = now // TOKEN_BUCKET_S
