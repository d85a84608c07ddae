"""Every successful login of a companion device, with its time: what tests and benchmarks read
to check how fast a client (or a fleet of them) logs in (``GET /admin/logins``).

The record belongs to the sandbox server, so it survives an admin restart. Each device keeps
its most recent :data:`LOGINS_KEPT` logins.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from daemon.binary import JID

LOGINS_KEPT = 1000


@dataclass(frozen=True, slots=True)
class Login:
    device: JID
    """The device, in PN form (``15551234567:1@s.whatsapp.net``)."""
    at: float
    """When the server sent ``<success>`` (unix seconds)."""


class LoginLog:
    def __init__(self, kept: int = LOGINS_KEPT) -> None:
        self._kept = kept
        self._by_device: dict[JID, deque[float]] = {}
        self._replaced: deque[Login] = deque(maxlen=kept)

    def record_replaced(self, device: JID, at: float) -> None:
        """A login pushed an open socket of the same device off (``conflict``/``replaced``):
        two clients held the device at once."""
        self._replaced.append(Login(device, at))

    def replaced(self) -> list[Login]:
        """Every such push, oldest first (the last :data:`LOGINS_KEPT`)."""
        return list(self._replaced)

    def record(self, device: JID, at: float) -> None:
        times = self._by_device.get(device)
        if times is None:
            times = self._by_device[device] = deque(maxlen=self._kept)
        times.append(at)

    def of(self, device: JID) -> list[float]:
        """The device's logins, oldest first."""
        return list(self._by_device.get(device, ()))

    def since(self, at: float) -> list[Login]:
        """Every login at or after ``at``, oldest first."""
        logins = [
            Login(device, time)
            for device, times in self._by_device.items()
            for time in times
            if time >= at
        ]
        logins.sort(key=lambda login: login.at)
        return logins


__all__ = ["LOGINS_KEPT", "Login", "LoginLog"]
