"""``whatsapp.client_version``: "auto" reads the service's current version (and falls back to
the built-in one), a configured version is kept; sessions follow every change."""

from __future__ import annotations

import pytest

from daemon.client_version import (
    VersionKeeper,
    VersionSource,
    VersionUnavailable,
    parse_web_version,
    version_url,
)
from daemon.config import REAL_CLIENT_VERSION, WhatsAppConfig, load


class _User:
    def __init__(self) -> None:
        self.versions: list[str] = []

    def set_client_version(self, version: str) -> None:
        self.versions.append(version)


def test_the_page_names_the_revision() -> None:
    page = b'<script>x={"server_revision":1,"client_revision":1045700001,"y":2}</script>'
    assert parse_web_version(page) == "2.3000.1045700001"
    assert parse_web_version(b"<html>nothing here</html>") is None


def test_the_version_url_is_the_web_origin_of_the_endpoint() -> None:
    assert version_url(WhatsAppConfig()) == "https://web.whatsapp.com/"
    assert version_url(WhatsAppConfig(ws_url="ws://127.0.0.1:8123/ws/chat")) == (
        "http://127.0.0.1:8123/"
    )
    assert version_url(WhatsAppConfig(version_url="https://v.example/x")) == "https://v.example/x"


async def test_auto_follows_the_service_and_keeps_the_last_version_when_it_fails() -> None:
    answers: list[str | Exception] = ["2.3000.1100000000", VersionUnavailable("down")]
    asked: list[str] = []

    async def fetch(url: str) -> str:
        asked.append(url)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    keeper = VersionKeeper(WhatsAppConfig(), fetch)
    assert (keeper.current, keeper.source) == (REAL_CLIENT_VERSION, VersionSource.BUILTIN)
    user = _User()
    keeper.attach(user)
    assert await keeper.refresh("start-up") == "2.3000.1100000000"
    assert keeper.source is VersionSource.SERVICE and user.versions == ["2.3000.1100000000"]
    assert await keeper.recheck() == "2.3000.1100000000"  # the service is down: keep it
    assert asked == ["https://web.whatsapp.com/"] * 2


async def test_a_configured_version_is_used_as_is() -> None:
    async def fetch(url: str) -> str:
        raise AssertionError("a configured version never asks the service")

    keeper = VersionKeeper(WhatsAppConfig(client_version="2.3000.5"), fetch)
    assert await keeper.refresh("start-up") == "2.3000.5"
    assert keeper.source is VersionSource.CONFIGURED


@pytest.mark.parametrize("value", ["auto", "2.3000.1"])
def test_auto_and_dotted_versions_are_valid(value: str) -> None:
    config = load(None, {"WAMD_WHATSAPP_CLIENT_VERSION": value})
    assert config.whatsapp.client_version == value
