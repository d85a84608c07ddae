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

from daemon.event_loop import EventLoopKind

# The production service. The client version is what WhatsApp checks at login (405 = outdated);
# it can be changed at run time, because the service periodically rejects old versions.
REAL_WS_URL = "wss://web.whatsapp.com/ws/chat"
REAL_ROOT_PUBLIC_KEY = "142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b"
REAL_CLIENT_VERSION = "2.3000.1045649367"
"""The built-in WhatsApp Web version (what ``auto`` falls back to)."""
AUTO_CLIENT_VERSION = "auto"


def resolved_client_version(configured: str) -> str:
    """The version a payload announces: ``auto`` not resolved yet is the built-in one."""
    return REAL_CLIENT_VERSION if configured == AUTO_CLIENT_VERSION else configured


WEB_ORIGIN = "https://web.whatsapp.com"


class ConfigError(ValueError):
    """The configuration file or an override is invalid; the message names the setting."""


@dataclass(frozen=True, slots=True)
class WhatsAppConfig:
    ws_url: str = REAL_WS_URL
    root_public_key: str = REAL_ROOT_PUBLIC_KEY
    client_version: str = AUTO_CLIENT_VERSION
    """``auto``: the service's current web version, read at start-up and daily
    (``daemon.client_version``); or three dotted numbers, used as is."""
    version_url: str = ""
    """Where ``auto`` reads the version; empty: the web origin of ``ws_url``."""
    origin: str = WEB_ORIGIN
    push_name: str = "wamd"
    os_name: str = "wamd"
    connect_timeout_s: float = 20.0
    iq_timeout_s: float = 60.0
    ca_file: str = ""
    """A PEM file of CA certificates trusted for the websocket and the media hosts *instead of*
    the system trust store (a private CA, the sandbox's ``tls.crt``). Empty: the system store
    (which honours ``SSL_CERT_FILE``). Certificates are always verified."""


@dataclass(frozen=True, slots=True)
class StorageConfig:
    state_dir: str = "state"
    database: str = "wamd.db"
    """The SQLite file (relative to ``state_dir``); unused when ``url`` names a server."""
    url: str = ""
    """``postgresql://user:password@host:port/database`` keeps every store in PostgreSQL
    (what a fleet of daemons shares); empty: the SQLite file above. Downloaded media and the
    admin key stay in ``state_dir`` on each host."""
    pool_size: int = 10
    """PostgreSQL connections this daemon may open: one for the writer, the rest for reads and
    single-statement writes outside a transaction (each webhook delivery in flight records its
    outcome with one: leave room for ``webhooks.concurrency`` and the API's reads)."""

    @property
    def database_path(self) -> Path:
        path = Path(self.database)
        return path if path.is_absolute() else Path(self.state_dir) / path


@dataclass(frozen=True, slots=True)
class HttpConfig:
    host: str = "127.0.0.1"
    """Listen address. Loopback by default: put a TLS reverse proxy in front for remote use."""
    port: int = 8080
    api_key: str = ""
    """The admin key (header ``x-api-key``). Empty: ``wamd run`` generates one on first start
    and keeps it in ``<state_dir>/admin-api-key`` (mode 0600)."""
    max_body_bytes: int = 1_048_576
    """Largest request body accepted (1 MiB)."""
    health_db_timeout_s: float = 2.0
    """``/health`` reports ``error`` when the database does not answer a write-lock probe
    within this time."""
    access_log: bool = False
    """Log every request as an ``http.request`` line (method, path, status, milliseconds;
    never query strings, headers or bodies)."""
    metrics_key: str = ""
    """A key that reads ``GET /metrics`` and nothing else (the admin key reads it too)."""
    metrics_loopback: bool = False
    """Serve ``GET /metrics`` without a key to clients connecting from loopback (a
    Prometheus on this host; keep it off behind a reverse proxy on the same host)."""
    header_timeout_s: float = 10.0
    """A connection must deliver a request's headers within this time of opening (or of the
    previous answer), else it is closed: a client trickling bytes holds no connection open.
    Also how long an idle keep-alive connection stays open."""
    request_timeout_s: float = 90.0
    """Longest a request (body included) may take before it is answered 503; event streams
    are exempt. Larger than the longest ``?wait=`` (60 s)."""


@dataclass(frozen=True, slots=True)
class ManagerConfig:
    startup_connects_per_s: float = 20.0
    """Connects started per second once the burst is used, at start-up and for every retry of
    a start-up connect, so hundreds of sessions do not hit the server in the same instant
    (``daemon.startup_pacing``): 500 sessions are all connecting within about 25 s."""
    startup_burst: int = 5
    """Connects that may start back to back: the first ones of a start-up start at once. In
    any second at most ``startup_connects_per_s + startup_burst`` connects start."""
    startup_max_concurrent: int = 32
    """Start-up connects under way at once (started, not yet logged in or failed)."""
    startup_jitter: float = 0.5
    """Each start is delayed by a random 0 to this fraction of ``1 / startup_connects_per_s``
    (so sessions do not log in on a metronome); within the burst's slack it costs no pace."""
    connect_stagger_s: float | None = None
    """Deprecated (the old fixed spacing): when set, start-up connects are this far apart,
    one at a time, as before (``startup_connects_per_s = 1 / connect_stagger_s``, burst 1, no
    jitter; 0 paces nothing), whatever the ``startup_*`` keys say."""
    startup_retry_delays_s: tuple[float, ...] = (5.0, 15.0, 45.0)
    """Waits before retrying a failed first connect at start-up; when they are used up the
    session is marked ``disconnected`` with ``last_error`` and the client's own backoff
    (full jitter, capped at 5 minutes) takes over."""
    startup_attempt_timeout_s: float = 30.0
    """How long one start-up connect attempt may go without progress before it counts as
    failed; every stanza from the server is progress (a login draining hundreds of offline
    messages is not a failed connect)."""
    shutdown_timeout_s: float = 10.0
    """Bound on a graceful stop (SIGTERM): in-flight sends and deliveries get this long; the
    systemd unit's TimeoutStopSec is larger."""


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """Several daemons on one PostgreSQL database (``storage.url``) share its sessions: each
    session is owned by one daemon at a time through a lease (see docs/architecture.md)."""

    node_id: str = ""
    """This daemon's name in the fleet; empty: ``<hostname>:<http.port>``."""
    advertise_url: str = ""
    """Where the other daemons reach this one's HTTP API; empty: ``http://<http.host>:<port>``."""
    heartbeat_s: float = 2.0
    """How often leases are renewed and shares recomputed."""
    lease_ttl_s: float = 10.0
    """How long a lease outlives its last renewal: a daemon that dies (or stops answering)
    loses its sessions this long after its last heartbeat, then others take them."""
    slack: int = 1
    """Sessions a daemon may hold above its fair share before it hands some back."""
    handoffs_per_round: int = 2
    """Sessions handed back per heartbeat when a daemon holds too many (no reconnect storm)."""


@dataclass(frozen=True, slots=True)
class ClientTimingsConfig:
    """Timings of every session's client. Empty values keep the protocol defaults
    (keepalive 20–30 s with a 10 s answer timeout, backoff 1 s doubling to 5 min, QR refs 60 s
    then 20 s); tests and the sandbox demo shorten them."""

    keepalive_min_s: float | None = None
    keepalive_max_s: float | None = None
    keepalive_timeout_s: float | None = None
    backoff_base_s: float | None = None
    backoff_cap_s: float | None = None
    stable_after_s: float | None = None
    qr_first_ttl_s: float | None = None
    qr_later_ttl_s: float | None = None


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    rate_per_minute: float = 20.0
    """Sends per minute per session (token bucket). Community reports put bans from bursts at
    a few messages per second and call more than a handful per minute to strangers risky; 20
    per minute with a small burst keeps a CRM's normal traffic well below that."""
    burst: int = 3
    """Sends allowed back to back before the rate applies."""
    max_attempts: int = 8
    """Attempts before a message is ``failed``."""
    retry_base_s: float = 2.0
    """First retry delay; doubles per attempt with full jitter."""
    retry_cap_s: float = 300.0
    max_age_s: float = 86_400.0
    """A message not sent within a day is ``failed`` (sending it later would surprise)."""
    restriction_pause_s: float = 3_600.0
    """After the server signals a restriction (429, 463...) the session's sending pauses this
    long (or until ``POST /sessions/{id}/outbox/resume``)."""
    max_in_flight: int = 8
    """Sends of one session under way at once (each between its start and the server's ack):
    they overlap the round trips and share commits. 1 sends one message at a time."""
    pipeline_within_chat: bool = True
    """Whether a chat's next message may start once the previous one is written to the
    connection (true), or only once the server acked it (false: strict order even when the
    server refuses a message, at one round trip per message of a chat)."""


@dataclass(frozen=True, slots=True)
class CampaignsConfig:
    default_rate_per_minute: int = 10
    """A campaign's ``ratePerMinute`` when it names none: half the outbox's default rate, so a
    campaign leaves room for the session's other sends."""
    max_body_bytes: int = 8 * 1024 * 1024
    """Largest recipients batch body (8 MiB holds 100,000 phone numbers with variables)."""


@dataclass(frozen=True, slots=True)
class WebhooksConfig:
    url: str = ""
    """A global webhook receiving every session's events (empty: none). Per-session and more
    global webhooks are managed through the API."""
    secret: str = ""
    """HMAC-SHA256 secret of the global webhook (at least 16 characters)."""
    events: tuple[str, ...] = ()
    """Event types for the global webhook; empty means all."""
    timeout_s: float = 10.0
    """Per-request timeout; a slow receiver should answer 2xx at once and work afterwards."""
    max_attempts: int = 12
    """Attempts before a delivery goes to the dead-letter list (about a day with the backoff
    below)."""
    retry_base_s: float = 5.0
    retry_cap_s: float = 3_600.0
    concurrency: int = 8
    """Deliveries in flight at once, over all webhooks."""


@dataclass(frozen=True, slots=True)
class RecoveryConfig:
    check_interval_s: float = 30.0
    """How often every session's liveness is checked."""
    dead_after_s: float = 90.0
    """A connected session with no frame in this long has a dead socket (three keepalive
    periods): it is reconnected."""
    probe_after_s: float = 1_800.0
    """A connected session with no inbound message for this long gets a ping probe; a probe
    that fails reconnects it."""
    probe_timeout_s: float = 10.0
    max_per_hour: int = 3
    """Automatic recoveries per session in a sliding hour; one more puts the session in
    ``needs_attention`` until a person reconnects it."""


@dataclass(frozen=True, slots=True)
class EventsConfig:
    retention_days: float = 30.0
    """Events older than this are pruned (never one a webhook still has to deliver)."""


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """History sync, app state and media of every session."""

    full_history: bool = True
    """``sync_full_history``: ingest the phone's FULL history chunks (everything older than
    the recent past it sends first). Off keeps only the bootstrap and recent chunks."""
    history_days: float | None = None
    """Keep only this many days of history; empty keeps everything the phone sends."""
    history_dry_run: bool = False
    """Parse and count history chunks (events and logs report them) without writing them."""
    eager_media: bool = False
    """Download the file of every incoming media message as it arrives (up to
    ``eager_media_max_bytes``); otherwise files are fetched on request."""
    eager_media_max_bytes: int = 16 * 1024 * 1024
    media_retry: bool = True
    """Ask the phone to upload a file again when the media host no longer has it."""
    backfill_after_offline_s: float = 3600.0
    """A reconnect after at least this long offline asks our phone for the recent history of
    the most recently active chats (what the server's offline queue may have dropped)."""
    backfill_threads: int = 50
    """How many chats (most recently active first) a backfill covers; 0 turns it off."""
    backfill_count: int = 100
    """Messages asked for per chat (1 to 500); what is already stored is not stored again."""
    backfill_timeout_s: float = 30.0
    """How long a backfill waits for the phone's answer about one chat."""


MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class MediaSendConfig:
    """Files sent through ``POST /sessions/{id}/messages`` (upload or ``url``). The size
    limits default to WhatsApp's own; a bigger file is refused with 413 and nothing queued."""

    max_image_bytes: int = 16 * MIB
    max_video_bytes: int = 16 * MIB
    max_audio_bytes: int = 16 * MIB
    max_sticker_bytes: int = 1 * MIB
    max_document_bytes: int = 100 * MIB
    url_timeout_s: float = 60.0
    """The whole download of a ``url`` (connect, redirects and body)."""
    url_max_redirects: int = 3
    allow_private_urls: bool = False
    """Let ``url`` (and its redirects) reach loopback, private and link-local addresses.
    Off by default: the daemon must not be a way into the host's own network."""


@dataclass(frozen=True, slots=True)
class CallsConfig:
    auto_reject: bool = False
    """Decline every incoming call at once (the caller sees it rejected); calls are reported
    as ``call.offered`` / ``call.ended`` events either way."""


@dataclass(frozen=True, slots=True)
class LogConfig:
    format: str = "json"
    level: str = "info"


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    event_loop: str = EventLoopKind.UVLOOP.value
    """``uvloop`` (the default: the loop's own work done in C) or ``asyncio`` (the standard
    library's loop)."""


@dataclass(frozen=True, slots=True)
class Config:
    whatsapp: WhatsAppConfig = field(default_factory=WhatsAppConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    log: LogConfig = field(default_factory=LogConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    manager: ManagerConfig = field(default_factory=ManagerConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)
    client: ClientTimingsConfig = field(default_factory=ClientTimingsConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    webhooks: WebhooksConfig = field(default_factory=WebhooksConfig)
    recovery: RecoveryConfig = field(default_factory=RecoveryConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    media: MediaSendConfig = field(default_factory=MediaSendConfig)
    calls: CallsConfig = field(default_factory=CallsConfig)
    campaigns: CampaignsConfig = field(default_factory=CampaignsConfig)


_SECTIONS: dict[str, type[Any]] = {
    "whatsapp": WhatsAppConfig,
    "storage": StorageConfig,
    "http": HttpConfig,
    "log": LogConfig,
    "runtime": RuntimeConfig,
    "manager": ManagerConfig,
    "fleet": FleetConfig,
    "client": ClientTimingsConfig,
    "outbox": OutboxConfig,
    "webhooks": WebhooksConfig,
    "recovery": RecoveryConfig,
    "events": EventsConfig,
    "sync": SyncConfig,
    "media": MediaSendConfig,
    "calls": CallsConfig,
    "campaigns": CampaignsConfig,
}


def _coerce(section: str, key: str, target: type[Any] | str, value: Any) -> Any:
    kind = target if isinstance(target, str) else target.__name__
    name = f"{section}.{key}"
    if kind.endswith(" | None"):
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        return _coerce(section, key, kind.removesuffix(" | None"), value)
    if kind.startswith("tuple[") and kind.endswith(", ...]"):
        item_kind = kind[len("tuple[") : -len(", ...]")]
        # TOML gives an array; an environment variable gives comma-separated values.
        if isinstance(value, str):
            items: list[Any] = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, list):
            items = value
        else:
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        return tuple(_coerce(section, key, item_kind, item) for item in items)
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
    if config.whatsapp.client_version != AUTO_CLIENT_VERSION and (
        len(parts) != 3 or not all(p.isdigit() for p in parts)
    ):
        raise ConfigError(
            'whatsapp.client_version: expected "auto" or three dotted numbers like 2.3000.123'
        )
    if config.whatsapp.version_url and not config.whatsapp.version_url.startswith(
        ("http://", "https://")
    ):
        raise ConfigError("whatsapp.version_url: expected an http:// or https:// URL")
    if not config.whatsapp.ws_url.startswith(("ws://", "wss://")):
        raise ConfigError("whatsapp.ws_url: expected a ws:// or wss:// URL")
    ca_file = config.whatsapp.ca_file
    if ca_file and not Path(ca_file).is_file():
        raise ConfigError(f"whatsapp.ca_file: {ca_file} is not a readable file")
    if config.runtime.event_loop not in {kind.value for kind in EventLoopKind}:
        raise ConfigError('runtime.event_loop: expected "uvloop" or "asyncio"')
    if not 0 <= config.http.port <= 65535:
        raise ConfigError("http.port: expected 0..65535")
    if config.storage.url and not config.storage.url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("storage.url: expected a postgresql:// URL (or empty for SQLite)")
    if config.storage.pool_size < 2:
        raise ConfigError("storage.pool_size: expected at least 2")
    if config.log.format not in {"json", "console"}:
        raise ConfigError("log.format: expected json or console")
    _validate_daemon(config)


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{name}: expected a positive number, got {value!r}")


def _validate_daemon(config: Config) -> None:
    _positive("fleet.heartbeat_s", config.fleet.heartbeat_s)
    if not config.fleet.lease_ttl_s >= 3 * config.fleet.heartbeat_s:
        raise ConfigError("fleet.lease_ttl_s: expected at least three heartbeats (heartbeat_s)")
    if config.fleet.slack < 0 or config.fleet.handoffs_per_round < 1:
        raise ConfigError("fleet.slack >= 0 and fleet.handoffs_per_round >= 1 expected")
    if config.http.max_body_bytes < 1024:
        raise ConfigError("http.max_body_bytes: expected at least 1024")
    _positive("http.health_db_timeout_s", config.http.health_db_timeout_s)
    _positive("http.header_timeout_s", config.http.header_timeout_s)
    _positive("http.request_timeout_s", config.http.request_timeout_s)
    manager = config.manager
    if manager.connect_stagger_s is not None and manager.connect_stagger_s < 0:
        raise ConfigError("manager.connect_stagger_s: expected 0 or more")
    _positive("manager.startup_connects_per_s", manager.startup_connects_per_s)
    if manager.startup_burst < 1 or manager.startup_max_concurrent < 1:
        raise ConfigError(
            "manager.startup_burst and manager.startup_max_concurrent: expected at least 1"
        )
    if not 0 <= manager.startup_jitter <= 1:
        raise ConfigError("manager.startup_jitter: expected 0 to 1")
    if any(delay < 0 for delay in manager.startup_retry_delays_s):
        raise ConfigError("manager.startup_retry_delays_s: delays must be 0 or more")
    _positive("manager.startup_attempt_timeout_s", manager.startup_attempt_timeout_s)
    _positive("manager.shutdown_timeout_s", manager.shutdown_timeout_s)
    for field_ in dataclasses.fields(config.client):
        value = getattr(config.client, field_.name)
        if value is not None:
            _positive(f"client.{field_.name}", value)
    outbox = config.outbox
    _positive("outbox.rate_per_minute", outbox.rate_per_minute)
    if outbox.burst < 1 or outbox.max_attempts < 1 or outbox.max_in_flight < 1:
        raise ConfigError(
            "outbox.burst, outbox.max_attempts and outbox.max_in_flight: expected at least 1"
        )
    _positive("outbox.retry_base_s", outbox.retry_base_s)
    _positive("outbox.retry_cap_s", outbox.retry_cap_s)
    _positive("outbox.max_age_s", outbox.max_age_s)
    _positive("outbox.restriction_pause_s", outbox.restriction_pause_s)
    hooks = config.webhooks
    if hooks.url and not hooks.url.startswith(("http://", "https://")):
        raise ConfigError("webhooks.url: expected an http:// or https:// URL")
    if hooks.url and len(hooks.secret) < 16:
        raise ConfigError("webhooks.secret: expected at least 16 characters with webhooks.url")
    _positive("webhooks.timeout_s", hooks.timeout_s)
    if hooks.max_attempts < 1 or hooks.concurrency < 1:
        raise ConfigError("webhooks.max_attempts and webhooks.concurrency: expected at least 1")
    _positive("webhooks.retry_base_s", hooks.retry_base_s)
    _positive("webhooks.retry_cap_s", hooks.retry_cap_s)
    recovery = config.recovery
    _positive("recovery.check_interval_s", recovery.check_interval_s)
    _positive("recovery.dead_after_s", recovery.dead_after_s)
    _positive("recovery.probe_after_s", recovery.probe_after_s)
    _positive("recovery.probe_timeout_s", recovery.probe_timeout_s)
    if recovery.max_per_hour < 0:
        raise ConfigError("recovery.max_per_hour: expected 0 or more")
    _positive("events.retention_days", config.events.retention_days)
    if config.sync.history_days is not None:
        _positive("sync.history_days", config.sync.history_days)
    if config.sync.eager_media_max_bytes < 0:
        raise ConfigError("sync.eager_media_max_bytes: expected 0 or more")
    for field_ in dataclasses.fields(config.media):
        if field_.name.startswith("max_"):
            _positive(f"media.{field_.name}", getattr(config.media, field_.name))
    _positive("media.url_timeout_s", config.media.url_timeout_s)
    if config.media.url_max_redirects < 0:
        raise ConfigError("media.url_max_redirects: expected 0 or more")
    if config.sync.backfill_after_offline_s < 0 or config.sync.backfill_threads < 0:
        raise ConfigError(
            "sync.backfill_after_offline_s and sync.backfill_threads: expected 0 or more"
        )
    if not 1 <= config.sync.backfill_count <= 500:
        raise ConfigError("sync.backfill_count: expected 1 to 500")
    _positive("sync.backfill_timeout_s", config.sync.backfill_timeout_s)
    if not 1 <= config.campaigns.default_rate_per_minute <= 60_000:
        raise ConfigError("campaigns.default_rate_per_minute: expected 1 to 60000")
    if config.campaigns.max_body_bytes < 1024:
        raise ConfigError("campaigns.max_body_bytes: expected at least 1024")
