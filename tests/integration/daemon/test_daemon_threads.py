"""A real daemon process: threads show everything, in order.

Our message is in its chat as ``pending`` from the moment the API accepts it (before it can be
sent), and the chat list's preview and the thread agree on which message is newest, also when
the answer lands in the same second as our message.
"""

from __future__ import annotations

from typing import Any

from daemon_harness import Api, DaemonFactory, admin, paired_daemon

from sandbox.app import SandboxServer

ALICE = "15550001111"
BOB = "15550002222"
BOB_CHAT = f"{BOB}@s.whatsapp.net"


async def thread(api: Api, query: str = "") -> list[dict[str, Any]]:
    reply = await api.call("GET", f"/sessions/alice/chats/{BOB_CHAT}/messages{query}")
    assert reply.status == 200, reply.body
    return list(reply.body["messages"])


async def preview(api: Api) -> dict[str, Any]:
    chats = (await api.call("GET", "/sessions/alice/chats")).body["chats"]
    found = [c for c in chats if c["jid"] == BOB_CHAT]
    assert found, chats
    return dict(found[0]["lastMessage"])


async def test_an_outbound_message_is_in_its_chat_as_pending_at_once(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    paired = await paired_daemon(daemon_factory, sandbox, ALICE, contacts=(BOB,))
    daemon, api = paired.daemon, paired.api
    await api.call("POST", "/sessions/alice/disconnect")

    sent = await api.call("POST", "/sessions/alice/messages", {"to": f"+{BOB}", "text": "queued"})
    assert sent.status == 202, sent.body
    message_id = sent.body["id"]
    shown = await thread(api)
    assert [(m["id"], m["status"], m["fromMe"], m["text"]) for m in shown] == [
        (message_id, "pending", True, "queued")
    ]
    assert (await preview(api))["id"] == message_id
    detail = (await api.call("GET", f"/sessions/alice/messages/{message_id}")).body
    assert detail["message"]["status"] == "pending"

    # Once connected it goes out: the same row moves on (one row, never two).
    await api.call("POST", "/sessions/alice/connect")
    await api.wait_for(
        f"/sessions/alice/chats/{BOB_CHAT}/messages",
        lambda page: page["messages"][0]["status"] in ("sent", "delivered", "read"),
    )
    assert [m["id"] for m in await thread(api)] == [message_id]
    assert await daemon.stop() == 0


async def test_a_same_second_answer_is_newest_in_the_preview_and_the_thread(
    daemon_factory: DaemonFactory, sandbox: SandboxServer
) -> None:
    paired = await paired_daemon(daemon_factory, sandbox, ALICE, contacts=(BOB,))
    daemon, api = paired.daemon, paired.api
    await admin(sandbox, "POST", f"/accounts/{BOB}/auto-reply", {"enabled": True})

    same_second = 0
    for round_number in range(6):
        await api.call("POST", "/sessions/alice/messages", {"to": f"+{BOB}", "text": "ping"})
        await api.wait_for(
            f"/sessions/alice/chats/{BOB_CHAT}/messages",
            lambda page, n=round_number: (
                len(page["messages"]) == 2 * (n + 1) and page["messages"][0]["status"] != "pending"
            ),
        )
        newest = await thread(api, "?limit=2")
        ours = next(m for m in newest if m["fromMe"])
        answer = next(m for m in newest if not m["fromMe"])
        # Preview and thread name the same newest message.
        assert (await preview(api))["id"] == newest[0]["id"], (newest, await preview(api))
        if ours["timestamp"][:19] == answer["timestamp"][:19]:
            same_second += 1
            assert newest[0]["id"] == answer["id"]  # the answer came after ours
        if same_second >= 2:
            break
    assert same_second >= 1
    assert await daemon.stop() == 0
