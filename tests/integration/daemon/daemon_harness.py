"""A real ``wamd run`` process against a real sandbox, driven over real HTTP on loopback.

* :class:`DaemonProcess` writes a TOML config (the sandbox's websocket and root key, a state
  directory, port 0, test timings), starts ``python -m daemon.cli run`` and reads its JSON log
  lines; the API URL comes from the ``daemon.ready`` line. ``stop()`` is SIGTERM (and checks the
  exit status), ``kill()`` is SIGKILL.
* :class:`Api` calls the daemon and validates every JSON answer against ``/openapi.json``.
* :class:`Receiver` is a webhook endpoint that verifies every signature.
* The sandbox is driven only through its admin HTTP API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import ssl
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from daemon.webhooks import verify_signature
from http_api.openapi import document
from http_api.openapi_check import SchemaViolation, check_response, match_path, validate
from sandbox.app import SandboxServer
from sandbox.certs import TLS_CERT_FILE

REPO = Path(__file__).resolve().parents[3]
ADMIN_KEY = "integration-admin-key-0123456789"
WEBHOOK_SECRET = "integration-webhook-secret-0123"
DOCUMENT = document()
TIMEOUT = 20.0
OWN_KEY = "<the Api's own key>"
"""Default of ``Api.call(key=...)``: send the key the Api was made with (None sends none)."""

BASE_SETTINGS: dict[str, dict[str, Any]] = {
    "whatsapp": {"connect_timeout_s": 5.0, "iq_timeout_s": 5.0},
    "http": {"host": "127.0.0.1", "port": 0, "api_key": ADMIN_KEY, "health_db_timeout_s": 1.0},
    "log": {"format": "json", "level": "info"},
    "manager": {
        "startup_connects_per_s": 20.0,
        "startup_burst": 4,
        "startup_retry_delays_s": [0.3, 0.6, 1.2],
        "startup_attempt_timeout_s": 5.0,
        "shutdown_timeout_s": 5.0,
    },
    "client": {
        "keepalive_min_s": 1.0,
        "keepalive_max_s": 1.5,
        "keepalive_timeout_s": 3.0,
        "backoff_base_s": 0.05,
        "backoff_cap_s": 0.5,
        "stable_after_s": 0.5,
        "qr_first_ttl_s": 30.0,
        "qr_later_ttl_s": 10.0,
    },
    "outbox": {"rate_per_minute": 6000.0, "burst": 5, "retry_base_s": 0.1, "retry_cap_s": 1.0},
    "webhooks": {"retry_base_s": 0.1, "retry_cap_s": 0.5, "timeout_s": 5.0},
    "recovery": {"check_interval_s": 0.5, "dead_after_s": 4.0},
}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def write_config(path: Path, settings: dict[str, dict[str, Any]]) -> None:
    lines = []
    for section, values in settings.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def merged(*layers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for section, values in layer.items():
            out.setdefault(section, {}).update(values)
    return out


@dataclass
class DaemonProcess:
    sandbox: SandboxServer
    state_dir: Path
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    """Every line the process wrote (stdout and stderr), as written."""
    url: str = ""
    process: asyncio.subprocess.Process | None = None
    _reader: asyncio.Task[None] | None = None
    _new_line: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def config_path(self) -> Path:
        return self.state_dir.parent / f"{self.state_dir.name}.toml"

    @property
    def database(self) -> Path:
        return self.state_dir / "wamd.db"

    async def start(self) -> None:
        settings = merged(
            {
                "whatsapp": {
                    "ws_url": self.sandbox.ws_url,
                    "root_public_key": self.sandbox.root_public_key.hex(),
                },
                "storage": {"state_dir": str(self.state_dir)},
            },
            BASE_SETTINGS,
            self.overrides,
        )
        write_config(self.config_path, settings)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("NOTIFY_SOCKET", None)
        env.pop("WATCHDOG_USEC", None)
        env.update(self.environ)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "daemon.cli",
            "run",
            "--config",
            str(self.config_path),
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        ready = await self.wait_log("daemon.ready", timeout=TIMEOUT)
        self.url = str(ready["http_url"])

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                return
            self.lines.append(line.decode(errors="replace"))
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                entry = {"event": "raw", "line": line.decode(errors="replace").rstrip()}
            entry["_at"] = time.monotonic()
            self.logs.append(entry)
            self._new_line.set()

    def matching(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.logs
            if e.get("event") == event and all(e.get(k) == v for k, v in fields.items())
        ]

    async def wait_log(
        self, event: str, *, count: int = 1, timeout: float = TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                found = self.matching(event, **fields)
                if len(found) >= count:
                    return found[count - 1]
                if self.process is not None and self.process.returncode is not None:
                    tail = "\n".join(json.dumps(e) for e in self.logs[-30:])
                    raise AssertionError(f"the daemon exited waiting for {event}:\n{tail}")
                self._new_line.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await self._new_line.wait()

    async def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM; returns the exit status (the test asserts it)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(timeout):
            code = await self.process.wait()
        await self._finish_reading()
        return code

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()
        await self._finish_reading()

    async def _finish_reading(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5.0)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def api(self, key: str = ADMIN_KEY) -> Api:
        return Api(self.url, key)


DaemonFactory = Callable[..., Awaitable[DaemonProcess]]


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


def _documented(method: str, path: str) -> bool:
    try:
        return method.lower() in DOCUMENT["paths"][match_path(DOCUMENT, path)]
    except SchemaViolation:
        return False


@dataclass
class Api:
    url: str
    key: str | None
    checked: int = 0

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = OWN_KEY,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        use_key = self.key if key == OWN_KEY else key
        if use_key is not None:
            sent["x-api-key"] = str(use_key)
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http,
            http.request(method, self.url + path, json=body, headers=sent) as response,
        ):
            raw = await response.read()
            payload: Any = raw
            if response.content_type in ("application/json", "application/problem+json"):
                payload = json.loads(raw)
                bare = path.split("?", 1)[0]
                if _documented(method, bare):
                    check_response(
                        DOCUMENT, method, bare, response.status, response.content_type, payload
                    )
                else:
                    problem = DOCUMENT["components"]["schemas"]["Problem"]
                    assert not validate(DOCUMENT, problem, payload)
                self.checked += 1
            return Reply(response.status, payload, dict(response.headers))

    async def wait_for(
        self,
        path: str,
        predicate: Callable[[Any], bool],
        *,
        timeout: float = TIMEOUT,
        interval: float = 0.1,
    ) -> Any:
        last: Any = None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    reply = await self.call("GET", path)
                    last = reply.body
                    if reply.status == 200 and predicate(reply.body):
                        return reply.body
                    await asyncio.sleep(interval)
        except TimeoutError:
            raise AssertionError(f"GET {path} never satisfied the wait; last: {last}") from None


def sandbox_trust(sandbox: SandboxServer) -> ssl.SSLContext | None:
    """What trusts a ``--tls`` sandbox: its self-signed ``tls.crt`` (None for plain http)."""
    if not sandbox.config.tls:
        return None
    return ssl.create_default_context(cafile=str(sandbox.state_dir / TLS_CERT_FILE))


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serves ``app`` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def admin(sandbox: SandboxServer, method: str, path: str, body: Any = None) -> Any:
    """The sandbox's admin HTTP API (phones, faults), over verified TLS for a --tls one."""
    connector = aiohttp.TCPConnector(ssl=sandbox_trust(sandbox) or True)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.request(method, f"{sandbox.admin_url}{path}", json=body) as response,
    ):
        payload = await response.json()
        assert response.status < 300, payload
        return payload


async def create_account(sandbox: SandboxServer, phone: str, name: str) -> None:
    await admin(sandbox, "POST", "/accounts", {"phone": phone, "push_name": name})


async def pair(api: Api, sandbox: SandboxServer, session_id: str, phone: str) -> dict[str, Any]:
    """Creates ``session_id`` and pairs it through the API alone: the QR from the daemon,
    scanned by the sandbox phone of ``phone`` (admin API). Returns the session's key."""
    created = await api.call("POST", "/sessions", {"id": session_id, "name": session_id})
    assert created.status == 201, created.body
    qr = await api.call("POST", f"/sessions/{session_id}/pair")
    assert qr.status == 200, qr.body
    await admin(sandbox, "POST", f"/accounts/{phone}/scan-qr", {"qr": qr.body["qr"]})
    await api.wait_for(f"/sessions/{session_id}", lambda s: s["status"] == "connected")
    return dict(created.body["apiKey"])


@dataclass
class PairedDaemon:
    daemon: DaemonProcess
    api: Api
    session_key: str


async def paired_daemon(
    factory: DaemonFactory,
    sandbox: SandboxServer,
    phone: str,
    *,
    contacts: tuple[str, ...] = (),
    session_id: str = "alice",
    **overrides: dict[str, Any],
) -> PairedDaemon:
    """Sandbox accounts for ``phone`` and each of ``contacts``, a daemon (with ``overrides``)
    and ``session_id`` paired as a linked device of ``phone`` through the API."""
    await create_account(sandbox, phone, session_id.title())
    for contact in contacts:
        await create_account(sandbox, contact, f"Contact {contact[-4:]}")
    daemon = await factory(**overrides)
    api = daemon.api()
    key = await pair(api, sandbox, session_id, phone)
    return PairedDaemon(daemon, api, str(key["key"]))


def device_jid(session: dict[str, Any]) -> str:
    jid = session["jid"]
    assert isinstance(jid, str)
    return jid


@dataclass
class Receiver:
    """A webhook endpoint on loopback. ``status`` is what it answers; every request's
    signature is verified and its event remembered."""

    status: int = 200
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify_signature(
            WEBHOOK_SECRET,
            request.headers.get("X-Wamd-Timestamp", ""),
            body,
            request.headers.get("X-Wamd-Signature", ""),
        ):
            self.bad_signatures += 1
            return web.Response(status=401)
        event = json.loads(body)
        assert event["id"] == request.headers["X-Wamd-Event-Id"]
        self.attempts.append(event["id"])
        if self.status >= 300:
            return web.Response(status=self.status)
        self.deliveries.append(event)
        return web.Response(status=204)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.deliveries if e["type"] == kind]
