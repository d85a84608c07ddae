"""Reading the service's passkey request (``daemon.client.passkey``) and the state it leads to."""

from __future__ import annotations

import json

from daemon.binary import Node
from daemon.client.passkey import ADVICE, describe, parse_passkey_request
from daemon.client.state import SessionState, Trigger, next_state


def _request(body: bytes | None) -> Node:
    child = [Node("passkey_request_options", {}, body)] if body is not None else []
    return Node("notification", {"type": "passkey_prologue_request", "id": "1"}, child)


def test_the_options_name_the_relying_party() -> None:
    options = {"challenge": "x", "rpId": "whatsapp.com", "allowCredentials": [{"id": "a"}]}
    request = parse_passkey_request(_request(json.dumps(options).encode()))
    assert (request.rp_id, request.credentials, request.readable) == ("whatsapp.com", 1, True)
    assert describe(request).endswith(ADVICE) and "whatsapp.com" in describe(request)


def test_unreadable_options_still_mean_a_passkey_is_required() -> None:
    for body in (None, b"not json", b"[1, 2]"):
        request = parse_passkey_request(_request(body))
        assert not request.readable and describe(request).endswith(ADVICE)


def test_passkey_required_waits_for_a_person_and_pairs_again() -> None:
    assert next_state(SessionState.PAIRING, Trigger.PASSKEY_REQUIRED) is (
        SessionState.PASSKEY_REQUIRED
    )
    assert SessionState.PASSKEY_REQUIRED.is_terminal
    assert next_state(SessionState.PASSKEY_REQUIRED, Trigger.START_PAIRING) is SessionState.PAIRING
