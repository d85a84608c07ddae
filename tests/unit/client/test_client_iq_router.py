"""The iq router (ids, answers, errors, timeouts) and the stanza handler table."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from daemon.binary import SERVER_JID, Node
from daemon.client.errors import IqError, IqTimeout
from daemon.client.ids import RequestIds
from daemon.client.iq import IqRouter, build_error, build_iq, build_result, is_answer
from daemon.client.router import Router


async def test_query_gets_its_own_answer() -> None:
    sent: list[Node] = []

    async def send(node: Node) -> None:
        sent.append(node)

    router = IqRouter(send, RequestIds(lambda n: bytes(range(n))))
    first = asyncio.create_task(router.query(build_iq("encrypt", "get", [Node("count")])))
    second = asyncio.create_task(router.query(build_iq("w:p", "get")))
    await asyncio.sleep(0)
    ids = [node.attr_str("id") for node in sent]
    assert ids == ["1.515-1", "1.515-2"]
    assert router.waiting == 2
    assert router.resolve(Node("iq", {"id": "1.515-2", "type": "result"}))
    assert router.resolve(Node("iq", {"id": "1.515-1", "type": "result"}, [Node("count")]))
    assert (await first).child("count") is not None
    assert (await second).attr_str("id") == "1.515-2"
    assert not router.resolve(Node("iq", {"id": "1.515-1", "type": "result"}))
    assert router.waiting == 0


async def test_error_answer_raises_with_code_and_text() -> None:
    async def send(node: Node) -> None:
        router.resolve(
            Node(
                "iq",
                {"id": node.attr_str("id") or "", "type": "error"},
                [Node("error", {"code": "406", "text": "not-acceptable"})],
            )
        )

    router = IqRouter(send)
    with pytest.raises(IqError) as raised:
        await router.query(build_iq("encrypt", "set"))
    assert raised.value.code == 406 and raised.value.text == "not-acceptable"


async def test_timeout_and_close() -> None:
    async def send(node: Node) -> None:
        return None

    router = IqRouter(send)
    with pytest.raises(IqTimeout):
        await router.query(build_iq("w:p", "get"), timeout=0.01)
    assert router.waiting == 0
    pending = asyncio.create_task(router.query(build_iq("w:p", "get"), timeout=5))
    await asyncio.sleep(0)
    router.close(ConnectionResetError("gone"))
    with pytest.raises(IqTimeout, match="gone"):
        await pending
    with pytest.raises(IqTimeout):
        await router.query(build_iq("w:p", "get"))


def test_answers_to_server_iqs() -> None:
    request = Node("iq", {"from": SERVER_JID, "id": "abc", "type": "set"})
    result = build_result(request, [Node("x")])
    assert result.attrs == {"to": SERVER_JID, "type": "result", "id": "abc"}
    error = build_error(request, 401, "hmac-mismatch")
    assert error.child("error") == Node("error", {"code": "401", "text": "hmac-mismatch"})
    assert is_answer(result) and is_answer(error) and not is_answer(request)


async def test_router_dispatch_table() -> None:
    seen: list[str] = []

    def record(name: str) -> Callable[[Node], Awaitable[None]]:
        async def handler(node: Node) -> None:
            seen.append(name)

        return handler

    router = Router()
    router.by_tag["success"] = record("success")
    router.iq_by_child["pair-device"] = record("pair-device")
    router.notification_by_type["encrypt"] = record("encrypt")
    router.ib_by_child["offline"] = record("offline")
    router.fallback = record("fallback")
    assert await router.dispatch(Node("success"))
    assert await router.dispatch(Node("iq", {"type": "set"}, [Node("pair-device")]))
    assert await router.dispatch(Node("notification", {"type": "encrypt"}))
    assert await router.dispatch(Node("ib", {}, [Node("dirty"), Node("offline")]))
    assert not await router.dispatch(Node("notification", {"type": "devices"}))
    assert not await router.dispatch(Node("iq", {"type": "get"}))
    assert seen == ["success", "pair-device", "encrypt", "offline", "fallback", "fallback"]
