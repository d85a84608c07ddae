"""The JSON shapes of the API's resources (camelCase, RFC 3339 times, null when unknown).

Each function here has a schema of the same name in :mod:`http_api.openapi`; the tests validate
real responses against those schemas.
"""

from __future__ import annotations

from typing import Any

from daemon.client.events import QrCode
from daemon.event_format import iso_from_unix, iso_utc
from daemon.event_records import restriction_json
from daemon.fleet.coordinator import FleetView
from daemon.manager import SessionView
from http_api.auth import IssuedKey
from storage.api_key_values import ApiKeyRow
from storage.outbox_values import SendingPause
from storage.webhook_values import Delivery, DeliveryStatus, Webhook


def session_json(view: SessionView) -> dict[str, Any]:
    row, liveness = view.row, view.liveness
    rtt = liveness.last_ping_rtt
    return {
        "id": row.id,
        "name": row.name,
        "status": view.status.value,
        "statusReason": row.status_reason,
        "statusChangedAt": iso_utc(row.status_changed_at),
        "autoConnect": row.auto_connect,
        "active": row.active,
        "phoneNumber": view.phone_number,
        "jid": view.jid,
        "lid": view.lid,
        "lastError": row.last_error,
        "lastConnectedAt": iso_utc(row.last_connected_at),
        "lastMessageAt": iso_utc(row.last_message_at),
        "lastStatusCheck": iso_utc(row.last_status_check),
        "createdAt": iso_utc(row.created_at),
        "updatedAt": iso_utc(row.updated_at),
        "socketAlive": view.socket_alive,
        "liveness": {
            "connectedAt": iso_from_unix(liveness.connected_at),
            "lastFrameAt": iso_from_unix(liveness.last_frame_in),
            "lastPongAt": iso_from_unix(liveness.last_pong),
            "pingRttMs": None if rtt is None else round(rtt * 1000, 1),
        },
        "recoveriesLastHour": view.recoveries_last_hour,
        "restrictions": [restriction_json(r) for r in view.restrictions],
        "servedBy": view.served_by,
    }


def deep_session_json(view: SessionView) -> dict[str, Any]:
    """One entry of ``/health/deep``'s ``sessions`` (the exact shape the issue fixes)."""
    return {
        "sessionId": view.row.id,
        "phoneNumber": view.phone_number,
        "connectionStatus": view.status.value,
        "lastConnectedAt": iso_utc(view.row.last_connected_at),
        "lastMessageAt": iso_utc(view.row.last_message_at),
        "socketAlive": view.socket_alive,
        "restrictions": [restriction_json(r) for r in view.restrictions],
        "servedBy": view.served_by,
    }


def fleet_json(view: FleetView) -> dict[str, Any]:
    """``/health``'s ``fleet``: the daemons, their sessions and roles as this one last saw."""
    return {
        "nodeId": view.node_id,
        "share": view.share,
        "sessions": view.mine,
        "lastRoundAt": iso_from_unix(view.last_round_at),
        "members": [
            {
                "nodeId": member.node_id,
                "url": member.url,
                "sessions": view.count_of(member.node_id),
                "leaving": member.leaving,
                "heartbeatAt": iso_from_unix(member.heartbeat_at_ms / 1000),
            }
            for member in view.members
        ],
        "roles": dict(sorted(view.roles.items())),
    }


def qr_json(session_id: str, qr: QrCode) -> dict[str, Any]:
    return {
        "sessionId": session_id,
        "qr": qr.code,
        "index": qr.index,
        "expiresAt": iso_from_unix(qr.expires_at),
    }


def api_key_json(row: ApiKeyRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "sessionId": row.session_id,
        "label": row.label,
        "createdAt": iso_utc(row.created_at),
        "createdBy": row.created_by,
        "chats": None if row.chats is None else list(row.chats),
        "canSend": row.can_send,
        "updatedAt": iso_utc(row.updated_at),
    }


def issued_key_json(issued: IssuedKey) -> dict[str, Any]:
    return {**api_key_json(issued.row), "key": issued.key}


def webhook_json(
    webhook: Webhook,
    *,
    with_secret: bool = False,
    counts: dict[DeliveryStatus, int] | None = None,
) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "id": webhook.id,
        "sessionId": webhook.session_id,
        "url": webhook.url,
        "events": sorted(webhook.events),
        "enabled": webhook.enabled,
        "parkedReason": webhook.parked_reason,
        "parkedAt": iso_utc(webhook.parked_at),
        "createdAt": iso_utc(webhook.created_at),
        "updatedAt": iso_utc(webhook.updated_at),
    }
    if webhook.chats is not None:
        shape["chats"] = sorted(webhook.chats)
    if with_secret:
        shape["secret"] = webhook.secret
    if counts is not None:
        shape["deliveries"] = {status.value: counts.get(status, 0) for status in DeliveryStatus}
    return shape


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "webhookId": delivery.webhook_id,
        "eventId": delivery.event_id,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "nextAttemptAt": (
            iso_utc(delivery.next_attempt_at) if delivery.status is DeliveryStatus.PENDING else None
        ),
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error,
        "createdAt": iso_utc(delivery.created_at),
        "deliveredAt": iso_utc(delivery.delivered_at),
    }


def pause_json(pause: SendingPause | None) -> dict[str, Any] | None:
    if pause is None:
        return None
    return {"until": iso_utc(pause.until), "reason": pause.reason}


__all__ = [
    "api_key_json",
    "deep_session_json",
    "delivery_json",
    "fleet_json",
    "issued_key_json",
    "pause_json",
    "qr_json",
    "session_json",
    "webhook_json",
]
