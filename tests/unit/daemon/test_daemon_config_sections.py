"""The daemon's config sections: documented defaults, lists and optional values from TOML and
from the environment, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon import config as cfg


def test_daemon_defaults() -> None:
    config = cfg.load(None, environ={})
    assert config.manager.connect_stagger_s is None
    assert config.manager.startup_connects_per_s == 20.0 and config.manager.startup_burst == 5
    assert config.manager.startup_retry_delays_s == (5.0, 15.0, 45.0)
    assert config.recovery.max_per_hour == 3 and config.recovery.probe_after_s == 1800.0
    assert config.outbox.rate_per_minute == 20.0 and config.outbox.burst == 3
    assert config.outbox.max_in_flight == 8 and config.outbox.pipeline_within_chat
    assert config.webhooks.url == "" and config.webhooks.max_attempts == 12
    assert config.client.keepalive_min_s is None
    assert config.http.health_db_timeout_s == 2.0


def test_lists_and_optionals_from_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "wamd.toml"
    path.write_text(
        "[manager]\nstartup_retry_delays_s = [1, 2.5]\n"
        "[client]\nkeepalive_min_s = 1.5\n"
        "[webhooks]\nurl = 'https://crm.example/in'\nsecret = '0123456789abcdef'\n"
        "events = ['message.received']\n"
    )
    config = cfg.load(
        path,
        environ={
            "WAMD_CLIENT_KEEPALIVE_MAX_S": "3",
            "WAMD_OUTBOX_BURST": "9",
            "WAMD_OUTBOX_PIPELINE_WITHIN_CHAT": "false",
        },
    )
    assert config.manager.startup_retry_delays_s == (1.0, 2.5)
    assert config.client.keepalive_min_s == 1.5 and config.client.keepalive_max_s == 3.0
    assert config.webhooks.events == ("message.received",)
    assert config.outbox.burst == 9 and not config.outbox.pipeline_within_chat
    env = {"WAMD_MANAGER_STARTUP_RETRY_DELAYS_S": "0.1, 0.2,0.4", "WAMD_CLIENT_QR_FIRST_TTL_S": ""}
    from_env = cfg.load(None, environ=env)
    assert from_env.manager.startup_retry_delays_s == (0.1, 0.2, 0.4)
    assert from_env.client.qr_first_ttl_s is None


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"WAMD_MANAGER_STARTUP_RETRY_DELAYS_S": "1,x"}, "manager.startup_retry_delays_s"),
        ({"WAMD_MANAGER_STARTUP_RETRY_DELAYS_S": "-1"}, "startup_retry_delays_s"),
        ({"WAMD_OUTBOX_RATE_PER_MINUTE": "0"}, "outbox.rate_per_minute"),
        ({"WAMD_OUTBOX_MAX_IN_FLIGHT": "0"}, "outbox.max_in_flight"),
        ({"WAMD_WEBHOOKS_URL": "ftp://x"}, "webhooks.url"),
        ({"WAMD_WEBHOOKS_URL": "https://x.example", "WAMD_WEBHOOKS_SECRET": "short"}, "secret"),
        ({"WAMD_CLIENT_KEEPALIVE_MIN_S": "-2"}, "client.keepalive_min_s"),
        ({"WAMD_RECOVERY_MAX_PER_HOUR": "-1"}, "recovery.max_per_hour"),
        ({"WAMD_HTTP_MAX_BODY_BYTES": "10"}, "http.max_body_bytes"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], needle: str) -> None:
    with pytest.raises(cfg.ConfigError) as info:
        cfg.load(None, environ=env)
    assert needle in str(info.value)
