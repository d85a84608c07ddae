"""The service as it is in 2026: what the server demands of a 1:1 message, per account.

Facts (whatsmeow send.go / tctoken.go / cstoken.go / notification.go, Baileys messages-recv):

* accounts are LID-migrated: 1:1 traffic is addressed to LIDs, with the phone number as an
  alternate (``sender_pn``, ``peer_recipient_pn``); a DM sent to a migrated account's
  phone-number JID is accepted by the server and never arrives (whatsmeow's "always use LID for
  DMs" works around exactly that);
* a 1:1 message carries a privacy token: the ``tctoken`` the recipient issued to the sender
  (``iq xmlns=privacy > tokens > token type=trusted_contact``; the server hands it over in a
  ``privacy_token`` notification), valid for 4 rolling buckets of 7 days; or, without one, a
  ``cstoken`` = HMAC-SHA256(sender's NCT salt, recipient LID as a string). Neither: ack
  ``error=463``, not delivered;
* a reachout time-lock or a message cap (``mex`` notifications) blocks *new* chats — those that
  would need a cstoken — until the time it names; established chats (a tctoken) keep flowing.

Enforcement is per sending account (``enforcing``): on for accounts made through the admin API
and ``wamd demo``, off for accounts made on the fly for Baileys' harness (Baileys rc14 sends no
cstoken). An account that is not enforcing is served as before: any addressing, no tokens.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from daemon.binary import JID, SERVER_JID, Node
from sandbox.directory import Account
from storage.sandbox_rules import AccountRulesRow, PrivacyTokenRow, SandboxRulesStore

TOKEN_BUCKET_S = 604_800
"""One tctoken bucket: 7 days (AB prop tctoken_duration)."""
TOKEN_BUCKETS = 4
"""Rolling buckets a tctoken stays valid for (AB prop tctoken_num_buckets)."""
NACK_NO_PRIVACY_TOKEN = 463
TIMELOCK_OP = "NotificationUserReachoutTimelockUpdate"
TIMELOCK_FIELD = "xwa2_notify_account_reachout_timelock"
CAPPING_OP = "MessageCappingInfoNotification"
CAPPING_FIELD = "xwa2_notify_new_chat_messages_capping_info_update"


def token_cutoff(now: int) -> int:
    """Tokens issued before this time have expired."""
    return (now // TOKEN_BUCKET_S - (TOKEN_BUCKETS - 1)) * TOKEN_BUCKET_S


def cstoken(nct_salt: bytes, recipient_lid: JID) -> bytes:
    return hmac.new(nct_salt, str(recipient_lid.to_non_ad()).encode(), hashlib.sha256).digest()


class Verdict(enum.Enum):
    DELIVER = "deliver"
    DROP_PN = "drop_pn"
    """Accepted and acked, never delivered: a DM to a migrated account's phone number."""
    NO_TOKEN = "no_token"
    """Nacked 463: neither a valid tctoken nor an acceptable cstoken."""


@dataclass(slots=True)
class AccountRules:
    enforcing: bool
    nct_salt: bytes


@dataclass(frozen=True, slots=True)
class Timelock:
    active: bool
    enforcement_type: str
    ends_at: int


@dataclass(frozen=True, slots=True)
class Capping:
    status: str
    """NONE, FIRST_WARNING, SECOND_WARNING or CAPPED (only CAPPED blocks)."""
    total_quota: int
    used_quota: int
    cycle_end: int


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: bytes
    issued_at: int


class ServiceRules:
    def __init__(self, store: SandboxRulesStore) -> None:
        self._store = store
        self._rules: dict[str, AccountRules] = {}
        self._tokens: dict[tuple[str, str], IssuedToken] = {}
        self.timelocks: dict[str, Timelock] = {}
        self.cappings: dict[str, Capping] = {}
        self.hidden_numbers: set[str] = set()
        """Accounts whose phone number the service does not reveal beside their LID
        (``sender_pn`` left out): their chats start LID-only until the number is learnt."""
        self.accepted_with: dict[tuple[str, str], str] = {}
        """(sender, recipient) phone users -> the token that let the last DM through
        (``tctoken`` or ``cstoken``): what the admin API shows and tests check."""

    async def load(self, accounts: list[Account]) -> None:
        for row in await self._store.all_rules():
            self._rules[row.phone_user] = AccountRules(row.enforcing, row.nct_salt)
        for token in await self._store.all_tokens():
            self._tokens[(token.issuer, token.subject)] = IssuedToken(token.token, token.issued_at)
        for account in accounts:
            if account.phone_user not in self._rules:
                await self.set_enforcing(account.phone_user, True)

    # Accounts

    def of(self, phone_user: str) -> AccountRules:
        rules = self._rules.get(phone_user)
        return rules if rules is not None else AccountRules(False, b"")

    async def set_enforcing(self, phone_user: str, enforcing: bool) -> AccountRules:
        current = self._rules.get(phone_user)
        salt = current.nct_salt if current is not None else secrets.token_bytes(32)
        rules = AccountRules(enforcing, salt)
        await self._store.put_rules(AccountRulesRow(phone_user, enforcing, salt))
        self._rules[phone_user] = rules
        return rules

    # Tokens

    async def issue(self, issuer: str, subject: str, now: int) -> IssuedToken:
        """``issuer`` lets ``subject`` write to it: a new token for the current bucket."""
        issued = IssuedToken(secrets.token_bytes(20), now)
        await self._store.put_token(PrivacyTokenRow(issuer, subject, issued.token, now))
        self._tokens[(issuer, subject)] = issued
        return issued

    def token(self, issuer: str, subject: str, now: int) -> IssuedToken | None:
        """The unexpired token ``issuer`` gave ``subject``, if any."""
        issued = self._tokens.get((issuer, subject))
        if issued is None or issued.issued_at < token_cutoff(now):
            return None
        return issued

    def blocks_new_chats(self, phone_user: str, now: int) -> str | None:
        """Why ``phone_user`` may not start chats now (time-lock or cap), or None."""
        lock = self.timelocks.get(phone_user)
        if lock is not None and lock.active and lock.ends_at > now:
            return f"reachout time-lock ({lock.enforcement_type})"
        cap = self.cappings.get(phone_user)
        if cap is not None and cap.status == "CAPPED" and cap.cycle_end > now:
            return "new-chat message cap reached"
        return None

    def verdict(self, sender: Account, target: Account, message: Node, now: int) -> Verdict:
        """What the service does with a 1:1 message from ``sender`` to another account."""
        if not self.of(sender.phone_user).enforcing or _is_retry(message):
            # A resend answering a retry receipt continues a delivery already let through.
            return Verdict.DELIVER
        to = message.attr_jid("to")
        if to is not None and to.is_pn:
            return Verdict.DROP_PN
        tc = message.child("tctoken")
        issued = self.token(target.phone_user, sender.phone_user, now)
        pair = (sender.phone_user, target.phone_user)
        if tc is not None and issued is not None and tc.content_bytes() == issued.token:
            self.accepted_with[pair] = "tctoken"
            return Verdict.DELIVER
        cs = message.child("cstoken")
        salt = self.of(sender.phone_user).nct_salt
        if (
            cs is not None
            and salt
            and hmac.compare_digest(cs.content_bytes() or b"", cstoken(salt, target.lid))
            and self.blocks_new_chats(sender.phone_user, now) is None
        ):
            self.accepted_with[pair] = "cstoken"
            return Verdict.DELIVER
        return Verdict.NO_TOKEN


def _is_retry(message: Node) -> bool:
    encs = [*message.children_by_tag("enc")]
    participants = message.child("participants")
    if participants is not None:
        for to in participants.children_by_tag("to"):
            encs.extend(to.children_by_tag("enc"))
    return any(enc.attr_str("count") not in (None, "", "0") for enc in encs)


def privacy_token_notification(
    issuer: Account, subject_jid: JID, issued: IssuedToken, notification_id: str
) -> Node:
    """``notification type=privacy_token`` telling ``subject`` the token ``issuer`` gave it."""
    token = Node(
        "token",
        {"jid": subject_jid, "t": str(issued.issued_at), "type": "trusted_contact"},
        issued.token,
    )
    return Node(
        "notification",
        {
            "from": issuer.pn,
            "sender_lid": issuer.lid,
            "type": "privacy_token",
            "id": notification_id,
            "t": str(issued.issued_at),
        },
        [Node("tokens", {}, [token])],
    )


def mex_notification(
    op_name: str, field: str, payload: dict[str, object], t: int, nid: str
) -> Node:
    """``notification type=mex > update op_name`` with the GraphQL JSON the service sends."""
    body = json.dumps({"data": {field: payload}}).encode()
    return Node(
        "notification",
        {"from": SERVER_JID, "type": "mex", "id": nid, "t": str(t)},
        [Node("update", {"op_name": op_name}, body)],
    )


def timelock_payload(lock: Timelock) -> dict[str, object]:
    payload: dict[str, object] = {"is_active": lock.active}
    if lock.active:
        payload["enforcement_type"] = lock.enforcement_type
        payload["time_enforcement_ends"] = str(lock.ends_at)
    return payload


def capping_payload(cap: Capping, now: int) -> dict[str, object]:
    return {
        "total_quota": cap.total_quota,
        "used_quota": cap.used_quota,
        "cycle_start_timestamp": str(now),
        "cycle_end_timestamp": str(cap.cycle_end),
        "server_sent_timestamp": str(now),
        "capping_status": cap.status,
    }
