"""Info queries: ids, waiting for the answer, timeouts, and failing waiters when a socket ends.

An ``<iq>`` we send gets an id from :class:`~daemon.client.ids.RequestIds`; the server's
``type=result`` or ``type=error`` answer carries the same id. The router keeps one future per id;
the reader resolves it, a timeout or the end of the connection fails it. Nothing here reads the
socket: the connection feeds answers in through :meth:`IqRouter.resolve`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from daemon.binary import JID, SERVER_JID, Node
from daemon.binary.node import AttrValue, Content
from daemon.client.awaited_answers import AwaitedAnswers
from daemon.client.errors import IqError, IqTimeout
from daemon.client.ids import RequestIds

DEFAULT_TIMEOUT_S = 60.0


def build_iq(
    xmlns: str,
    kind: str,
    content: Content = None,
    *,
    to: JID = SERVER_JID,
    **extra: AttrValue,
) -> Node:
    """An iq without its id (the router assigns one when it is sent)."""
    attrs: dict[str, AttrValue] = {"xmlns": xmlns, "type": kind, "to": to}
    attrs.update(extra)
    return Node("iq", attrs, content)


def build_result(request: Node, content: Content = None) -> Node:
    """Our ``type=result`` answer to a server-initiated iq."""
    return Node(
        "iq", {"to": SERVER_JID, "type": "result", "id": request.attr_str("id") or ""}, content
    )


def build_error(request: Node, code: int, text: str) -> Node:
    return Node(
        "iq",
        {"to": SERVER_JID, "type": "error", "id": request.attr_str("id") or ""},
        [Node("error", {"code": str(code), "text": text})],
    )


def is_answer(node: Node) -> bool:
    return node.tag == "iq" and node.attr_str("type") in ("result", "error")


def error_of(node: Node) -> IqError:
    error = node.child("error")
    if error is None:
        return IqError(None, "error answer without <error>", node)
    code = error.attrs.get("code")
    number = int(code) if isinstance(code, str) and code.isdigit() else None
    return IqError(number, error.attr_str("text") or "", node)


class IqRouter:
    def __init__(
        self,
        send: Callable[[Node], Awaitable[None]],
        ids: RequestIds | None = None,
        default_timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._send = send
        self._ids = ids or RequestIds()
        self._default_timeout = default_timeout
        self._answers = AwaitedAnswers[Node]()
        self._closed: BaseException | None = None

    @property
    def waiting(self) -> int:
        return self._answers.waiting

    async def query(self, request: Node, timeout: float | None = None) -> Node:
        """Sends ``request`` with a fresh id and returns the ``result`` answer.
        Raises IqError for an error answer, IqTimeout when none comes in time."""
        if self._closed is not None:
            raise IqTimeout(f"connection ended: {self._closed}")
        request_id = self._ids.next()
        future = self._answers.expect(request_id)
        limit = self._default_timeout if timeout is None else timeout
        try:
            await self._send(
                Node(request.tag, {**request.attrs, "id": request_id}, request.content)
            )
            async with asyncio.timeout(limit):
                answer = await future
        except TimeoutError:
            raise IqTimeout(f"no answer to iq {request_id} within {limit} s") from None
        finally:
            self._answers.forget(request_id)
        if answer.attr_str("type") == "error":
            raise error_of(answer)
        return answer

    def resolve(self, answer: Node) -> bool:
        """Hands an iq answer to its waiter; False when nobody waits for that id."""
        return self._answers.resolve(answer.attr_str("id") or "", answer)

    def close(self, reason: BaseException) -> None:
        """Fails every waiter and every later query (the socket is gone)."""
        self._closed = reason
        self._answers.fail_all(lambda: IqTimeout(f"connection ended: {reason}"))
