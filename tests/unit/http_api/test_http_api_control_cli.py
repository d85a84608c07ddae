"""``wamd sessions``, ``wamd send`` and ``wamd status`` against a running API."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from http_rig import ADMIN_KEY, running_api

from daemon import control
from daemon.config import Config, HttpConfig, StorageConfig
from daemon.service import ADMIN_KEY_FILE


async def test_commands_print_what_the_api_says(tmp_path: Path) -> None:
    async with running_api(tmp_path) as rig:
        url = str(rig.client.make_url("")).rstrip("/")
        await rig.call("POST", "/sessions", json_body={"id": "sales"})
        await rig.call("POST", "/sessions/sales/connect")

        out = io.StringIO()
        assert await control.sessions(url, ADMIN_KEY, False, out) == 0
        header, row = out.getvalue().splitlines()
        assert header.split()[:3] == ["SESSION", "STATUS", "PHONE"]
        assert row.split()[:4] == ["sales", "connected", "15550001111", "yes"]

        out = io.StringIO()
        assert await control.send(url, ADMIN_KEY, "sales", "+15550002222", "hi", "k1", out) == 0
        message_id, status, *_ = out.getvalue().split()
        assert status == "pending" and message_id.startswith("3EB0")

        out = io.StringIO()
        assert await control.status(url, ADMIN_KEY, True, out) == 0
        assert json.loads(out.getvalue())["sessions"][0]["sessionId"] == "sales"

        with pytest.raises(control.ControlError, match="does not exist"):
            await control.send(url, ADMIN_KEY, "nope", "+15550002222", "hi", None, io.StringIO())
        with pytest.raises(control.ControlError, match="not valid"):
            await control.sessions(url, "wrong-key", False, io.StringIO())


def test_the_key_comes_from_the_option_the_config_or_the_state_directory(tmp_path: Path) -> None:
    config = Config(storage=StorageConfig(state_dir=str(tmp_path)), http=HttpConfig(port=9000))
    assert control.base_url(config) == "http://127.0.0.1:9000"
    assert control.find_key(config, "given") == "given"
    with pytest.raises(control.ControlError, match="no API key"):
        control.find_key(config, None)
    (tmp_path / ADMIN_KEY_FILE).write_text("from-the-file\n")
    assert control.find_key(config, None) == "from-the-file"
    configured = Config(http=HttpConfig(api_key="from-the-config-123456"))
    assert control.find_key(configured, None) == "from-the-config-123456"
