"""The session client offers every capability the daemon asks of it through a Protocol."""

from __future__ import annotations

import pytest
from daemon_fakes import FakeDevice

from daemon.client.session import Session
from daemon.linked_device import (
    ChatArchiving,
    HistoryRequester,
    MediaDownloads,
    MediaSending,
    MessageSending,
    ReadReceipts,
)

CAPABILITIES = [
    MessageSending,
    MediaSending,
    ReadReceipts,
    MediaDownloads,
    HistoryRequester,
    ChatArchiving,
]


@pytest.mark.parametrize("capability", CAPABILITIES, ids=lambda c: c.__name__)
def test_the_session_client_has_the_capability(capability: type) -> None:
    assert issubclass(Session, capability)


@pytest.mark.parametrize("capability", CAPABILITIES, ids=lambda c: c.__name__)
def test_a_client_without_the_method_lacks_the_capability(capability: type) -> None:
    assert not issubclass(FakeDevice, capability)
