"""The outbox's pipelining against the real server: a session's sends are on the wire together
(none waits for another's ack), and each chat's messages reach its phone in order, retries
included."""

from __future__ import annotations

import asyncio

from daemon_harness import DaemonFactory, admin, device_jid, paired_daemon

from sandbox.app import SandboxServer

OWNER = "15550001111"
FRIENDS = ("15550003333", "15550004444", "15550005555")
ACK_TIMEOUT_S = 10.0
"""Long enough for every first attempt to be written before the first one times out."""


async def test_sends_are_in_flight_together_and_each_chat_arrives_in_order(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    paired = await paired_daemon(
        daemon_factory,
        sandbox,
        OWNER,
        contacts=FRIENDS,
        whatsapp={"iq_timeout_s": ACK_TIMEOUT_S},
        outbox={"max_in_flight": 8},
    )
    api = paired.api
    # Each chat once first, so its devices and sessions are known (and acked as usual).
    warm = [
        (await api.call("POST", "/sessions/alice/messages", {"to": f, "text": "hi"})).body["id"]
        for f in FRIENDS
    ]
    for message_id in warm:
        await api.wait_for(
            f"/sessions/alice/messages/{message_id}", lambda m: m["sentAt"] is not None
        )
    session = (await api.call("GET", "/sessions/alice")).body
    # The server's acks of the next 8 messages never reach the daemon: those attempts end only
    # when they time out (the phones' delivery receipts settle the messages meanwhile).
    await admin(
        sandbox,
        "POST",
        "/faults/stanzas",
        {
            "direction": "to_device",
            "action": "drop",
            "device": device_jid(session),
            "tag": "ack",
            "count": 8,
        },
    )
    ids: dict[str, str] = {}
    for n in range(3):
        for friend in FRIENDS:
            text = f"{friend[-4:]} m{n}"
            sent = await api.call("POST", "/sessions/alice/messages", {"to": friend, "text": text})
            assert sent.status == 202, sent.body
            ids[text] = sent.body["id"]

    async def arrived() -> list[str]:
        texts = []
        for friend in FRIENDS:
            got = await admin(sandbox, "GET", f"/accounts/{friend}/messages")
            texts += [m["text"] for m in got if m.get("text", "").startswith(friend[-4:])]
        return texts

    async with asyncio.timeout(ACK_TIMEOUT_S):
        while len(await arrived()) < 8:
            await asyncio.sleep(0.05)
    # Eight messages reached the phones while no ack reached the daemon: they were under way
    # together. The ninth waits for a free slot (an ack, or an attempt's timeout).
    waiting = (await api.call("GET", "/sessions/alice/outbox?status=pending")).body["messages"]
    assert [m["attempts"] for m in waiting] == [0], waiting
    for message_id in ids.values():
        await api.wait_for(
            f"/sessions/alice/messages/{message_id}",
            lambda m: m["status"] in ("sent", "delivered", "read"),
            timeout=4 * ACK_TIMEOUT_S,
        )
    # Each phone got its chat's messages once (a repeat is dropped by its id), in order.
    for friend in FRIENDS:
        got = await admin(sandbox, "GET", f"/accounts/{friend}/messages")
        mine = [m["text"] for m in got if m.get("text", "").startswith(friend[-4:])]
        assert mine == [f"{friend[-4:]} m{n}" for n in range(3)], mine
    assert not paired.daemon.matching("outbox.worker_crashed")
    assert not paired.daemon.matching("outbox.attempt_crashed")
