from collections.abc import Callable

from daemon.binary.jid import JID
from daemon.binary.node import Node

def configure(
    *,
    single: tuple[str, ...],
    double: tuple[tuple[str, ...], ...],
    node_type: type[Node],
    jid_memo: dict[bytes, JID],
    read_jid: Callable[[bytes, int, int], tuple[JID, int]],
    max_depth: int,
) -> None: ...
def decode(payload: bytes, start: int, /) -> tuple[Node, int] | None: ...
