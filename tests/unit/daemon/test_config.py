from __future__ import annotations

from pathlib import Path

import pytest

from daemon import config as cfg


def test_defaults_are_the_real_service() -> None:
    config = cfg.load(None, environ={})
    assert config.whatsapp.ws_url == "wss://web.whatsapp.com/ws/chat"
    assert config.whatsapp.root_public_key == (
        "142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b"
    )
    # "auto": read from the service; REAL_CLIENT_VERSION is the fallback.
    assert config.whatsapp.client_version == cfg.AUTO_CLIENT_VERSION
    assert config.whatsapp.ca_file == ""
    assert config.http.host == "127.0.0.1"
    assert config.storage.database_path == Path("state/wamd.db")


def test_a_private_ca_file_from_the_file_or_the_environment(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "wamd.toml"
    path.write_text(f'[whatsapp]\nca_file = "{tmp_path / "file.pem"}"\n')
    assert cfg.load(None, environ={"WAMD_WHATSAPP_CA_FILE": str(ca)}).whatsapp.ca_file == str(ca)
    with pytest.raises(cfg.ConfigError, match=r"whatsapp\.ca_file"):
        cfg.load(path, environ={})
    assert cfg.load(path, environ={"WAMD_WHATSAPP_CA_FILE": str(ca)}).whatsapp.ca_file == str(ca)


def test_file_then_environment_override(tmp_path: Path) -> None:
    path = tmp_path / "wamd.toml"
    path.write_text(
        '[http]\nport = 9000\napi_key = "file"\n[storage]\nstate_dir = "/var/lib/wamd"\n'
    )
    config = cfg.load(path, environ={"WAMD_HTTP_PORT": "9100", "OTHER": "x"})
    assert config.http.port == 9100
    assert config.http.api_key == "file"
    assert config.storage.database_path == Path("/var/lib/wamd/wamd.db")


@pytest.mark.parametrize(
    ("text", "env", "needle"),
    [
        ("[http]\nport = 'abc'\n", {}, "http.port"),
        ("[nope]\nx = 1\n", {}, "[nope]"),
        ("[http]\ncolour = 1\n", {}, "colour"),
        ("", {"WAMD_WHATSAPP_ROOT_PUBLIC_KEY": "zz"}, "root_public_key"),
        ("", {"WAMD_WHATSAPP_CLIENT_VERSION": "2.3000"}, "client_version"),
        ("[log]\nformat = 'xml'\n", {}, "log.format"),
        ("not toml [", {}, "not valid TOML"),
    ],
)
def test_bad_input_is_a_clear_error(
    tmp_path: Path, text: str, env: dict[str, str], needle: str
) -> None:
    path = tmp_path / "wamd.toml"
    path.write_text(text)
    with pytest.raises(cfg.ConfigError, match=None) as info:
        cfg.load(path, environ=env)
    assert needle in str(info.value)


def test_the_event_loop_is_uvloop_unless_asyncio_is_asked_for(tmp_path: Path) -> None:
    assert cfg.load(None, environ={}).runtime.event_loop == "uvloop"
    path = tmp_path / "wamd.toml"
    path.write_text('[runtime]\nevent_loop = "asyncio"\n')
    assert cfg.load(path, environ={}).runtime.event_loop == "asyncio"
    environ = {"WAMD_RUNTIME_EVENT_LOOP": "uvloop"}
    assert cfg.load(path, environ=environ).runtime.event_loop == "uvloop"
    with pytest.raises(cfg.ConfigError, match=r"runtime\.event_loop"):
        cfg.load(None, environ={"WAMD_RUNTIME_EVENT_LOOP": "trio"})
