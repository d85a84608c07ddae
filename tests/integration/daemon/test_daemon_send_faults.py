"""A connection lost in the middle of a send is a retryable connection loss: the outbox worker
survives it and the message goes out once after the reconnect."""

from __future__ import annotations

from daemon_harness import DaemonFactory, admin, create_account, device_jid, pair

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIEND = "15550003333"


async def test_the_socket_closing_during_the_device_list_query_is_retried(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    await create_account(sandbox, OWNER, "Owner")
    await create_account(sandbox, FRIEND, "Friend")
    daemon = await daemon_factory()
    api = daemon.api()
    await pair(api, sandbox, "alice", OWNER)
    session = (await api.call("GET", "/sessions/alice")).body
    # The device list answer reaches the daemon, then the server drops the connection: the
    # send goes on to the prekey fetch over a socket that is gone.
    await admin(
        sandbox,
        "POST",
        "/faults/stanzas",
        {
            "direction": "to_device",
            "action": "disconnect",
            "device": device_jid(session),
            "tag": "iq",
            "child": "usync",
            "count": 1,
        },
    )
    sent = await api.call("POST", "/sessions/alice/messages", {"to": FRIEND, "text": "hello"})
    assert sent.status == 202
    message_id = sent.body["id"]
    detail = await api.wait_for(
        f"/sessions/alice/messages/{message_id}",
        lambda m: m["status"] in ("sent", "delivered", "read"),
        timeout=30,
    )
    assert detail["attempts"] >= 2, detail
    got = await admin(sandbox, "GET", f"/accounts/{FRIEND}/messages")
    assert [m["id"] for m in got if m.get("text") == "hello"] == [message_id]
    assert not daemon.matching("outbox.worker_crashed")
    assert not daemon.matching("raw")
