"""sd_notify without a dependency: READY, STOPPING, STATUS and WATCHDOG to systemd.

systemd passes ``NOTIFY_SOCKET`` (a unix datagram socket path; a leading ``@`` means the
abstract namespace) to a ``Type=notify`` service; each message is one datagram of
``KEY=VALUE`` lines. With ``WatchdogSec=`` it also passes ``WATCHDOG_USEC`` (and
``WATCHDOG_PID``): the service must send ``WATCHDOG=1`` more often than that or be restarted.
Outside systemd (no ``NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping

import structlog

log = structlog.get_logger("daemon.systemd")


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = env.get("NOTIFY_SOCKET") or None
        self._watchdog_s: float | None = None
        usec = env.get("WATCHDOG_USEC")
        pid = env.get("WATCHDOG_PID")
        if usec and usec.isdigit() and (pid is None or pid == str(os.getpid())):
            self._watchdog_s = int(usec) / 1_000_000

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """How often to send ``WATCHDOG=1`` (half the timeout systemd gave), or None."""
        return None if self._watchdog_s is None else self._watchdog_s / 2

    def notify(self, **fields: str) -> bool:
        """Sends one datagram (``ready="1"`` → ``READY=1``); False when not under systemd or
        the send failed (a notification must never take the daemon down)."""
        if self._address is None:
            return False
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items()).encode()
        address = self._address
        if address.startswith("@"):
            address = "\0" + address[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(address)
                sock.sendall(message)
        except OSError as exc:
            log.warning("systemd.notify_failed", error=str(exc))
            return False
        return True

    def ready(self, status: str = "running") -> bool:
        return self.notify(ready="1", status=status, mainpid=str(os.getpid()))

    def stopping(self, status: str = "stopping") -> bool:
        return self.notify(stopping="1", status=status)

    def status(self, text: str) -> bool:
        return self.notify(status=text)

    def watchdog(self) -> bool:
        return self.notify(watchdog="1")

    async def run_watchdog(self) -> None:
        """Pings the watchdog while the event loop runs (a stuck loop stops the pings, and
        systemd restarts the service). Returns at once when there is no watchdog."""
        interval = self.watchdog_interval
        if interval is None or not self.enabled:
            return
        while True:
            self.watchdog()
            await asyncio.sleep(interval)


__all__ = ["Notifier"]
