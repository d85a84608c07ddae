"""The sandbox server: one aiohttp application on one host:port serving the websocket
(``/ws/chat``), the admin API (``/admin/...``) and the media host (``/mms/...``, ``/v/...``).

``SandboxServer`` is what tests and ``wamd sandbox`` use: start (state loaded from the state
directory, keys generated on first start), stop, and restart on the same port keeping all state.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
from pathlib import Path
from types import TracebackType
from typing import Self

import structlog
from aiohttp import web

from sandbox.certs import ServerKeys, load_or_create_keys, load_or_create_tls
from sandbox.config import SandboxConfig
from sandbox.connection import CLOSE_TIMEOUT, MAX_WS_MESSAGE, Connection
from sandbox.logins import LoginLog
from sandbox.network import HostedDeviceFactory, Network, PhoneFactory
from sandbox.state import SandboxState

log = structlog.get_logger("sandbox.app")

WS_PATH = "/ws/chat"
SERVER_KEY: web.AppKey[SandboxServer] = web.AppKey("sandbox_server")


def default_phone_factory() -> PhoneFactory:
    """Phones with default settings: ``sandbox.phone.SimulatedPhone``."""
    from sandbox.phone import phone_factory

    return phone_factory()


def default_hosted_device_factory() -> HostedDeviceFactory:
    """Hosted (Cloud API) devices of business accounts: ``sandbox.phone.hosted``."""
    from sandbox.phone.hosted import HostedDevice

    return HostedDevice


class SandboxServer:
    def __init__(
        self,
        config: SandboxConfig,
        *,
        phone_factory: PhoneFactory | None = None,
        use_default_phone: bool = True,
    ) -> None:
        self.config = config
        self._phone_factory = phone_factory
        if phone_factory is None and use_default_phone:
            self._phone_factory = default_phone_factory()
        self._runner: web.AppRunner | None = None
        self._state: SandboxState | None = None
        self._network: Network | None = None
        self._keys: ServerKeys | None = None
        self._ssl: ssl.SSLContext | None = None
        self.port = config.port
        self.restarts = 0
        self.logins = LoginLog()
        """Every companion login with its time, across restarts (``GET /admin/logins``)."""

    # Addresses

    @property
    def network(self) -> Network:
        if self._network is None:
            raise RuntimeError("the sandbox is not running")
        return self._network

    @property
    def root_public_key(self) -> bytes:
        if self._keys is None:
            raise RuntimeError("the sandbox is not running")
        return self._keys.root_public

    @property
    def state_dir(self) -> Path:
        return self.config.state_dir

    @property
    def origin(self) -> str:
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.config.tls else "ws"
        return f"{scheme}://{self.config.host}:{self.port}{WS_PATH}"

    @property
    def admin_url(self) -> str:
        return f"{self.origin}/admin"

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        return self._ssl

    # Lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the sandbox is already running")
        config = self.config
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self._keys = load_or_create_keys(config.state_dir)
        if config.tls:
            self._ssl = load_or_create_tls(config.state_dir, config.host)
        state = await SandboxState.open(config.state_dir)
        try:
            network = Network(
                await state.load_directory(),
                state,
                logins=self.logins,
                phone_factory=self._phone_factory,
                hosted_device_factory=(
                    default_hosted_device_factory() if self._phone_factory is not None else None
                ),
            )
            for group in await state.load_groups():
                network.groups.add(group)
            await network.rules.load(network.directory.accounts())
            runner = web.AppRunner(self._build_app(network), shutdown_timeout=1.0)
            await runner.setup()
            site = web.TCPSite(runner, config.host, self.port, ssl_context=self._ssl)
            await site.start()
        except BaseException:
            await state.close()
            raise
        self._state, self._network, self._runner = state, network, runner
        self.port = _bound_port(runner) or self.port
        network.media_host = f"{config.host}:{self.port}"
        network.media.origin = self.origin
        for account in network.directory.accounts():
            await network.add_phone(account)
            hosted = network.directory.hosted_device(account.phone_user)
            if hosted is not None and network.hosted_device_factory is not None:
                await network.set_hosted(account, True)
        log.info("sandbox.started", ws_url=self.ws_url, root=self.root_public_key.hex())

    async def stop(self) -> None:
        runner, network, state = self._runner, self._network, self._state
        self._runner = self._network = self._state = None
        if network is not None:
            for socket in list(network.sockets):
                socket.abort()
        if runner is not None:
            await runner.cleanup()
        if network is not None:
            await network.close()
        if state is not None:
            await state.close()

    async def restart(self) -> None:
        """Stops and starts again on the same port; accounts, devices and queues come back
        from the database, keys from the state directory."""
        await self.stop()
        await self.start()
        self.restarts += 1

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # The application

    def _build_app(self, network: Network) -> web.Application:
        from sandbox.admin import admin_routes
        from sandbox.client_version import version_routes
        from sandbox.media import media_routes

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app[SERVER_KEY] = self
        app.router.add_get(WS_PATH, self._websocket)
        app.add_routes(admin_routes(self))
        app.add_routes(media_routes(network))
        app.add_routes(version_routes(network.versions))
        return app

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        network, keys = self._network, self._keys
        if network is None or keys is None:
            raise web.HTTPServiceUnavailable()
        websocket = web.WebSocketResponse(
            max_msg_size=MAX_WS_MESSAGE, compress=False, timeout=CLOSE_TIMEOUT
        )
        await websocket.prepare(request)
        connection = Connection(network, keys, self.config, request, websocket)
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await connection.run()
        return websocket


def _bound_port(runner: web.AppRunner) -> int | None:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None


async def run_sandbox(config: SandboxConfig) -> None:
    """Runs a sandbox until SIGINT/SIGTERM (``wamd sandbox``), printing where it listens."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with SandboxServer(config) as server:
        print(f"ws:    {server.ws_url}", flush=True)
        print(f"admin: {server.admin_url}", flush=True)
        print(f"root:  {server.root_public_key.hex()}", flush=True)
        print(f"state: {server.state_dir} (root.pub written there)", flush=True)
        await stop.wait()
