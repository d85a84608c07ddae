"""Every session of the fleet as the API shows it, from any daemon.

A daemon has live evidence (socket, pings, recoveries) only for the sessions it holds; a
session held by another daemon is shown from its stored row: its status as its owner last
recorded it, its timestamps, its phone number from its stored credentials, no socket of ours
(``socketAlive`` false, no liveness times) and ``servedBy`` naming the daemon that holds it.
Owners come from the coordinator's last round (at most ``fleet.heartbeat_s`` old).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from daemon.client.keepalive import Liveness
from daemon.fleet.coordinator import FleetCoordinator
from daemon.manager import SessionManager, SessionNotFound
from daemon.session_handle import SessionView, phone_of
from storage.stores import Stores
from storage.values import SessionRow

__all__ = ["session_views", "stored_view"]


async def stored_view(stores: Stores, row: SessionRow, served_by: str | None) -> SessionView:
    """A session this daemon does not hold, from what is stored."""
    credentials = await stores.auth.credentials.load(row.id)
    return SessionView(
        row=row,
        status=row.status,
        phone_number=phone_of(credentials),
        jid=None if credentials is None else credentials.pn_jid,
        lid=None if credentials is None else credentials.lid_jid,
        socket_alive=False,
        liveness=Liveness(),
        recoveries_last_hour=0,
        served_by=served_by,
    )


async def session_views(
    manager: SessionManager,
    stores: Stores,
    fleet: FleetCoordinator | None,
    may_access: Callable[[str], bool],
) -> list[SessionView]:
    """The sessions ``may_access`` allows: this daemon's alone without a fleet; in a fleet,
    every stored session, live where held here, else from its row."""
    if fleet is None:
        return await manager.views([sid for sid in manager.ids() if may_access(sid)])
    owners = fleet.view.sessions
    views: list[SessionView] = []
    for row in await stores.sessions.list_all():
        if not may_access(row.id):
            continue
        if manager.has(row.id):
            try:
                view = await manager.view(row.id, row)
            except SessionNotFound:  # let go meanwhile
                pass
            else:
                views.append(dataclasses.replace(view, served_by=fleet.node_id))
                continue
        views.append(await stored_view(stores, row, owners.get(row.id)))
    return views
