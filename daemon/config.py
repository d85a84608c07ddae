"""Configuration: one TOML file plus ``WAMD_*`` environment overrides.

Every setting has a documented default. The WhatsApp endpoint, root certificate key and client
version default to the real service's values so that a deployment works without touching them;
the sandbox overrides them. Environment variables are named ``WAMD_<SECTION>_<KEY>`` in upper
case (``WAMD_HTTP_PORT=9090``) and win over the file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The production service. The client version is what WhatsApp checks at login (405 = outdated);
# it can be changed at run time, because the service periodically rejects old versions.
REAL_WS_URL = "wss://web.whatsapp.com/ws/chat"
REAL_ROOT_PUBLIC_KEY = "142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b"
REAL_CLIENT_VERSION = "2.3000.1045649367"
WEB_ORIGIN = "https://web.whatsapp.com"


class ConfigError(ValueError):
    """The configuration file or an override is invalid; the message names the setting."""


@dataclass(frozen=True, slots=True)
class WhatsAppConfig:
    ws_url: str = REAL_WS_URL
    root_public_key: str = REAL_ROOT_PUBLIC_KEY
    client_version: str = REAL_CLIENT_VERSION
    origin: str = WEB_ORIGIN
    push_name: str = "wamd"
    os_name: str = "wamd"
    connect_timeout_s: float = 20.0
    iq_timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class StorageConfig:
    state_dir: str = "state"
    database: str = "wamd.db"

    @property
    def database_path(self) -> Path:
        path = Path(self.database)
        return path if path.is_absolute() else Path(self.state_dir) / path


@dataclass(frozen=True, slots=True)
class HttpConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    api_key: str = ""


@dataclass(frozen=True, slots=True)
class LogConfig:
    format: str = "json"
    level: str = "info"


@dataclass(frozen=True, slots=True)
class Config:
    whatsapp: WhatsAppConfig = field(default_factory=WhatsAppConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    log: LogConfig = field(default_factory=LogConfig)


_SECTIONS: dict[str, type[Any]] = {
    "whatsapp": WhatsAppConfig,
    "storage": StorageConfig,
    "http": HttpConfig,
    "log": LogConfig,
}


def _coerce(section: str, key: str, target: type[Any] | str, value: Any) -> Any:
    kind = target if isinstance(target, str) else target.__name__
    name = f"{section}.{key}"
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        }:
            return value.lower() in {"1", "true", "yes", "on"}
        raise ConfigError(f"{name}: expected a boolean, got {value!r}")
    if kind == "int":
        if isinstance(value, bool):
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: expected an integer, got {value!r}") from None
    if kind == "float":
        if isinstance(value, bool):
            raise ConfigError(f"{name}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: expected a number, got {value!r}") from None
    if not isinstance(value, str):
        raise ConfigError(f"{name}: expected a string, got {value!r}")
    return value


def _build_section(name: str, cls: type[Any], values: Mapping[str, Any]) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"[{name}]: unknown setting(s) {', '.join(unknown)}")
    kwargs = {key: _coerce(name, key, known[key].type, value) for key, value in values.items()}
    return cls(**kwargs)


def load(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Loads the TOML file (if given) and applies ``WAMD_*`` overrides from ``environ``."""
    env = os.environ if environ is None else environ
    raw: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    if path is not None:
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        for section, values in doc.items():
            if section not in _SECTIONS or not isinstance(values, dict):
                raise ConfigError(f"unknown config section [{section}]")
            raw[section].update(values)
    for var, value in env.items():
        if not var.startswith("WAMD_"):
            continue
        section, _, key = var[len("WAMD_") :].lower().partition("_")
        if section in _SECTIONS and key:
            raw[section][key] = value
    built = {name: _build_section(name, cls, raw[name]) for name, cls in _SECTIONS.items()}
    config = Config(**built)
    validate(config)
    return config


def validate(config: Config) -> None:
    key = config.whatsapp.root_public_key
    try:
        if len(bytes.fromhex(key)) != 32:
            raise ValueError
    except ValueError:
        raise ConfigError("whatsapp.root_public_key: expected 64 hex characters") from None
    parts = config.whatsapp.client_version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ConfigError("whatsapp.client_version: expected three dotted numbers like 2.3000.123")
    if not config.whatsapp.ws_url.startswith(("ws://", "wss://")):
        raise ConfigError("whatsapp.ws_url: expected a ws:// or wss:// URL")
    if not 0 <= config.http.port <= 65535:
        raise ConfigError("http.port: expected 0..65535")
    if config.log.format not in {"json", "console"}:
        raise ConfigError("log.format: expected json or console")
