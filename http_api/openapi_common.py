"""The vocabulary every part of the OpenAPI document shares: value schemas (times, JIDs,
phone numbers), the shared parameters, and the helpers that build objects and operations.

The parts (``openapi_health``, ``openapi_meta``, ``openapi_sessions``, ``openapi_events``,
``openapi_messages``, ``openapi_webhooks`` and the feature parts) are merged by
:func:`http_api.openapi.document`.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

ISO = {"type": "string", "format": "date-time"}
ISO_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
STR_OR_NULL = {"type": ["string", "null"]}
SERVED_BY = {
    "type": ["string", "null"],
    "description": (
        "In a fleet (several daemons on one PostgreSQL database): the node id of the daemon "
        "holding the session. A session held by another daemon is shown from its stored row: "
        "socketAlive false, liveness times null, no recoveries or restrictions of ours. Null "
        "without a fleet, or while no daemon holds the session."
    ),
}
SESSION_STATUSES = [
    "new",
    "pairing",
    "connecting",
    "connected",
    "backing_off",
    "disconnected",
    "logged_out",
    "replaced",
    "outdated",
    "banned",
    "stopped",
    "needs_attention",
    "passkey_required",
]
EVENT_TYPES = [
    "message.received",
    "message.updated",
    "receipt",
    "chat.updated",
    "connection.state",
    "connection.open",
    "connection.closed",
    "qr.code",
    "pair.code",
    "session.paired",
    "history.progress",
    "backfill.progress",
    "message.undecryptable",
    "session.recovery",
    "group.updated",
    "presence.updated",
    "chatstate.updated",
    "alert",
    "session.created",
    "session.deleted",
    "call.offered",
    "call.ended",
    "campaign.updated",
    "campaign.recipient.updated",
]
MEDIA_TYPES = ["image", "video", "audio", "document", "sticker"]

SEND_MEDIA_FIELDS: dict[str, Schema] = {
    "caption": {"type": "string", "maxLength": 4096},
    "fileName": {"type": "string", "maxLength": 255, "description": "documents: the name shown"},
    "ptt": {"type": "boolean", "description": "audio: a voice note (Ogg Opus)"},
    "mimetype": {"type": "string", "maxLength": 255, "description": "checked against the bytes"},
}


INT64_MAX = 2**63 - 1
SESSION_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_PHONE = "[+]?[1-9][0-9]{6,14}"
_USER_JID = (
    "[1-9][0-9]{6,14}(?::[0-9]{1,2})?@s[.]whatsapp[.]net|[1-9][0-9]{4,19}(?::[0-9]{1,2})?@lid"
)
_GROUP_ID = "[1-9][0-9]{4,19}(?:-[1-9][0-9]{4,19})?"
CHAT_PATTERN = f"^(?:{_PHONE}|{_USER_JID}|{_GROUP_ID}@g[.]us)$"
"""A chat: a phone number, or a user (phone number or LID) or group JID (see
daemon.chat_address; it also takes spaces, dashes and brackets in a phone number)."""
USER = {"type": "string", "pattern": f"^(?:{_PHONE}|{_USER_JID})$", "maxLength": 128}
"""A person: a phone number, or a phone-number or LID JID."""
GROUP = {"type": "string", "pattern": f"^{_GROUP_ID}(?:@g[.]us)?$", "maxLength": 128}
"""A group: its JID or its bare id."""
PHONE_NUMBER = {"type": "string", "pattern": f"^{_PHONE}$"}
CHAT = {"type": "string", "pattern": CHAT_PATTERN, "maxLength": 128}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Schema], required: list[str] | None = None, **extra: Any) -> Schema:
    """A closed object: every listed property required unless ``required`` says otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        **extra,
    }


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ok(schema: Schema, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": _json(schema)}


PROBLEM_RESPONSE = {
    "description": "Problem details (RFC 9457)",
    "content": {"application/problem+json": {"schema": ref("Problem")}},
}
SESSION_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": SESSION_ID_PATTERN},
}
CHAT_JID = {"name": "jid", "in": "path", "required": True, "schema": CHAT}
PAGE_LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
}


def op(
    operation_id: str,
    summary: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: Schema | None = None,
    body_required: bool = True,
    public: bool = False,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "responses": {**responses, "default": PROBLEM_RESPONSE},
    }
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": _json(body)}
    if public:
        operation["security"] = []
    if tags:
        operation["tags"] = tags
    return operation


SCHEMAS: dict[str, Schema] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details; extension members may follow.",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
        },
        "required": ["type", "title", "status", "detail"],
    },
}


__all__ = [
    "CHAT",
    "CHAT_JID",
    "CHAT_PATTERN",
    "EVENT_TYPES",
    "GROUP",
    "INT64_MAX",
    "ISO",
    "ISO_OR_NULL",
    "MEDIA_TYPES",
    "PAGE_LIMIT",
    "PHONE_NUMBER",
    "PROBLEM_RESPONSE",
    "SCHEMAS",
    "SEND_MEDIA_FIELDS",
    "SESSION_ID",
    "SESSION_ID_PATTERN",
    "SESSION_STATUSES",
    "STR_OR_NULL",
    "USER",
    "Schema",
    "_json",
    "_ok",
    "array",
    "obj",
    "op",
    "ref",
]
