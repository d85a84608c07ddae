"""Privacy-token facts (pure): buckets, cstoken, the notification and the issue iq."""

from __future__ import annotations

import hashlib
import hmac

from daemon.binary import JID, Node
from daemon.client.privacy_tokens import (
    TOKEN_BUCKET_S,
    build_issue_iq,
    cstoken,
    issue_due,
    parse_privacy_token_notification,
    token_usable,
    tokens_apply,
)

LID = JID.parse("123456789012345@lid")
WEEK = TOKEN_BUCKET_S


def test_a_token_lasts_four_rolling_buckets() -> None:
    now = 100 * WEEK + 10
    assert token_usable(97 * WEEK, now)  # the oldest of the four buckets
    assert not token_usable(97 * WEEK - 1, now)
    assert not token_usable(0, now)


def test_our_token_is_issued_once_per_bucket() -> None:
    assert issue_due(0, 5 * WEEK)
    assert not issue_due(5 * WEEK + 1, 5 * WEEK + 100)
    assert issue_due(5 * WEEK - 1, 5 * WEEK)


def test_cstoken_is_hmac_sha256_of_the_recipient_lid_string() -> None:
    salt = bytes(range(32))
    expected = hmac.new(salt, b"123456789012345@lid", hashlib.sha256).digest()
    assert cstoken(salt, LID.with_device(3)) == expected


def test_tokens_go_to_people_only() -> None:
    assert tokens_apply(LID) and tokens_apply(JID.parse("15550001111@s.whatsapp.net"))
    assert not tokens_apply(JID.parse("1203630000@g.us"))
    assert not tokens_apply(JID.parse("0@s.whatsapp.net"))


def test_privacy_token_notification_is_read_and_odd_tokens_skipped() -> None:
    node = Node(
        "notification",
        {
            "from": JID.parse("15550002222@s.whatsapp.net"),
            "sender_lid": LID,
            "type": "privacy_token",
            "id": "1",
        },
        [
            Node(
                "tokens",
                {},
                [
                    Node("token", {"jid": LID, "t": "1700", "type": "trusted_contact"}, b"tok"),
                    Node("token", {"jid": LID, "t": "1700", "type": "other"}, b"x"),
                    Node("token", {"jid": LID, "type": "trusted_contact"}, b"no time"),
                ],
            )
        ],
    )
    [received] = parse_privacy_token_notification(node)
    assert (received.contact.user, received.contact_lid, received.token, received.issued_at) == (
        "15550002222",
        LID,
        b"tok",
        1700,
    )
    assert parse_privacy_token_notification(Node("notification", {"type": "privacy_token"})) == []


def test_issue_iq_names_the_contact_and_the_time() -> None:
    iq = build_issue_iq(LID.with_device(2), 1234.9)
    token = iq.child("tokens", "token")
    assert iq.attr_str("xmlns") == "privacy" and iq.attr_str("type") == "set"
    assert token is not None and token.attrs["jid"] == LID
    assert (token.attr_str("t"), token.attr_str("type")) == ("1234", "trusted_contact")
