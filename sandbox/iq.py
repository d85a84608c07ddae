"""iq dispatch: every ``iq type=get|set`` from a device goes to the handler of its ``xmlns``.

A handler returns the answer (``iq_result``/``iq_error`` of the request) or None when it
answered itself; raising ``IqFailure`` answers ``iq type=error > error(code, text)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.binary import JID, Node
from sandbox.directory import Account, Device

if TYPE_CHECKING:
    from sandbox.network import Network


class IqFailure(Exception):
    """Answer the iq with an error."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


def bad_request(detail: str = "bad-request") -> IqFailure:
    return IqFailure(400, detail)


@dataclass(frozen=True, slots=True)
class IqContext:
    network: Network
    sender: JID
    """The asking device, PN form."""
    device: Device
    account: Account


IqHandler = Callable[[IqContext, Node], Awaitable[Node | None]]
