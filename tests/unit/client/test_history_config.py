"""The ``[sync]`` configuration section: defaults, environment overrides, validation, and the
options a session gets from it."""

from __future__ import annotations

import pytest

from daemon.client.sync_services import sync_options
from daemon.config import ConfigError, SyncConfig, load


def test_defaults_sync_full_history_and_fetch_media_on_request() -> None:
    config = load(environ={})
    assert config.sync == SyncConfig()
    options = sync_options(config.sync, config.whatsapp)
    assert options.history.full_history and options.history.since_days is None
    assert not options.history.dry_run
    assert not options.media.eager_download and options.media.retry_on_expiry
    assert options.media_http.scheme == "https"


def test_environment_overrides_reach_the_session_options() -> None:
    config = load(
        environ={
            "WAMD_SYNC_FULL_HISTORY": "off",
            "WAMD_SYNC_HISTORY_DAYS": "30",
            "WAMD_SYNC_HISTORY_DRY_RUN": "yes",
            "WAMD_SYNC_EAGER_MEDIA": "true",
            "WAMD_SYNC_EAGER_MEDIA_MAX_BYTES": "1000",
            "WAMD_SYNC_MEDIA_RETRY": "0",
            "WAMD_WHATSAPP_WS_URL": "ws://127.0.0.1:9/ws/chat",
        }
    )
    options = sync_options(config.sync, config.whatsapp)
    assert (options.history.full_history, options.history.since_days) == (False, 30.0)
    assert options.history.dry_run
    assert options.media.eager_download and options.media.eager_max_bytes == 1000
    assert not options.media.retry_on_expiry
    assert options.media_http.scheme == "http"  # a sandbox on plain ws serves media on http


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WAMD_SYNC_HISTORY_DAYS", "0", "sync.history_days"),
        ("WAMD_SYNC_EAGER_MEDIA_MAX_BYTES", "-1", "sync.eager_media_max_bytes"),
        ("WAMD_SYNC_FULL_HISTORY", "perhaps", "sync.full_history"),
    ],
)
def test_bad_values_are_refused(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(environ={variable: value})
