"""The OpenAPI 3.1 document served at ``/openapi.json``.

Written as data next to the code it describes; the tests send real requests to a real daemon
and validate every response against the schema for its path, method and status
(:mod:`http_api.openapi_check`), so the document cannot drift from what the API does.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

VERSION = "0.1.0"
ISO = {"type": "string", "format": "date-time"}
ISO_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
STR_OR_NULL = {"type": ["string", "null"]}
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
_EVENT_TYPE = "(?:" + "|".join(t.replace(".", "[.]") for t in EVENT_TYPES) + ")"
TYPES_PATTERN = f"^{_EVENT_TYPE}(?:,{_EVENT_TYPE})*$"
OUTBOX_STATUSES = ["pending", "sending", "sent", "delivered", "read", "played", "failed"]
MESSAGE_STATUSES = [
    "pending",
    "sent",
    "delivered",
    "read",
    "played",
    "received",
    "waiting",
    "undecryptable",
    "failed",
]


SEND_TYPES = ["text", "reply", "reaction", "edit", "delete"]
MEDIA_TYPES = ["image", "video", "audio", "document", "sticker"]
CARD_TYPES = ["location", "contact"]

OUTBOX_MESSAGE: dict[str, Schema] = {
    "id": {"type": "string", "description": "the WhatsApp message id"},
    "sessionId": {"type": "string"},
    "to": {"type": "string"},
    "type": {"type": "string", "enum": SEND_TYPES + MEDIA_TYPES + CARD_TYPES},
    "status": {"type": "string", "enum": OUTBOX_STATUSES},
    "attempts": {"type": "integer", "minimum": 0},
    "uncertainSends": {
        "type": "integer",
        "minimum": 0,
        "description": "sent again after a crash left an attempt's outcome unknown",
    },
    "error": STR_OR_NULL,
    "createdAt": ISO,
    "updatedAt": ISO,
    "sentAt": ISO_OR_NULL,
    "nextAttemptAt": ISO_OR_NULL,
    "request": {"type": "object"},
}


SEND_MEDIA_FIELDS: dict[str, Schema] = {
    "caption": {"type": "string", "maxLength": 4096},
    "fileName": {"type": "string", "maxLength": 255, "description": "documents: the name shown"},
    "ptt": {"type": "boolean", "description": "audio: a voice note (Ogg Opus)"},
    "mimetype": {"type": "string", "maxLength": 255, "description": "checked against the bytes"},
}


def media_variants(to: Schema, file: dict[str, Schema]) -> list[Schema]:
    """A media send per kind: a caption for image, video and document; ptt for audio only;
    ``file`` is the upload part or the ``url``."""
    common = {"fileName": SEND_MEDIA_FIELDS["fileName"], "mimetype": SEND_MEDIA_FIELDS["mimetype"]}
    required = ["to", "type", *file]
    return [
        obj(
            {
                "to": to,
                "type": {"type": "string", "enum": ["image", "video", "document"]},
                **file,
                "caption": SEND_MEDIA_FIELDS["caption"],
                **common,
            },
            required=required,
        ),
        obj(
            {
                "to": to,
                "type": {"type": "string", "const": "audio"},
                **file,
                "ptt": SEND_MEDIA_FIELDS["ptt"],
                **common,
            },
            required=required,
        ),
        obj(
            {"to": to, "type": {"type": "string", "const": "sticker"}, **file, **common},
            required=required,
        ),
    ]


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
URL_PATTERN = (
    "^https?://[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    "(?:[.][A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?){0,8}"
    "(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}"
    "|[1-9][0-9]{0,3}))?"
    "(?:/[A-Za-z0-9._~!$&'()*+,;=:@/-]{0,1000})?$"
)
"""http(s), a host name, a port from 1 to 65535, a plain path (the daemon also takes IP
literals, queries and percent-encoding: see daemon.webhooks.check_url)."""
SECRET = {
    "type": "string",
    "minLength": 16,
    "maxLength": 256,
    # The control characters themselves (JSON escapes them): regex engines differ on "\\u".
    "pattern": "^[^\x00-\x1f\x7f]*$",
    "description": "no control characters",
}
MESSAGE_TEXT = {"type": "string", "minLength": 1, "maxLength": 65536}
PHONE = {"type": "string", "pattern": "^[+]?[0-9]{7,15}$"}
"""A contact card's number (spaces, dashes and brackets are also taken)."""
MESSAGE_ID = {"type": "string", "minLength": 1, "maxLength": 128}


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


KEY_CHATS: Schema = {
    "type": ["array", "null"],
    "items": CHAT,
    "description": "the only chats (JIDs) the key may see and send to; null: every chat",
}
API_KEY: dict[str, Schema] = {
    "id": {"type": "string"},
    "sessionId": {"type": "string"},
    "label": {"type": "string"},
    "createdAt": ISO,
    "createdBy": {"type": "string"},
    "chats": KEY_CHATS,
    "canSend": {"type": "boolean"},
    "updatedAt": ISO_OR_NULL,
}


def send_kind(
    kind: str,
    fields: dict[str, Schema],
    *,
    type_required: bool = True,
    required: list[str] | None = None,
) -> Schema:
    """One message type of SendMessage: ``to``, ``type`` (``kind``) and the type's fields
    (each required unless ``required`` names the ones that are)."""
    wanted = list(fields) if required is None else required
    return obj(
        {"to": CHAT, "type": {"type": "string", "const": kind}, **fields},
        required=["to", "type", *wanted] if type_required else ["to", *wanted],
    )


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
    "HealthStatus": {"type": "string", "enum": ["ok", "degraded", "error"]},
    "Health": obj(
        {
            "status": ref("HealthStatus"),
            "timestamp": ISO,
            "uptime": {"type": "number", "minimum": 0, "description": "seconds"},
            "sessions": obj(
                {
                    "total": {"type": "integer", "minimum": 0},
                    "connected": {"type": "integer", "minimum": 0},
                    "connecting": {"type": "integer", "minimum": 0},
                    "disconnected": {"type": "integer", "minimum": 0},
                }
            ),
        }
    ),
    "DeepHealth": obj(
        {
            "status": ref("HealthStatus"),
            "timestamp": ISO,
            "uptime": {"type": "number", "minimum": 0},
            "database": obj(
                {
                    "connected": {"type": "boolean"},
                    "latencyMs": {"type": ["number", "null"], "minimum": 0},
                }
            ),
            "sessions": array(
                obj(
                    {
                        "sessionId": {"type": "string"},
                        "phoneNumber": STR_OR_NULL,
                        "connectionStatus": {"type": "string", "enum": SESSION_STATUSES},
                        "lastConnectedAt": ISO_OR_NULL,
                        "lastMessageAt": ISO_OR_NULL,
                        "socketAlive": {"type": "boolean"},
                        "restrictions": array(ref("Restriction")),
                    }
                )
            ),
        }
    ),
    "Session": obj(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "status": {"type": "string", "enum": SESSION_STATUSES},
            "statusReason": {"type": "string"},
            "statusChangedAt": ISO,
            "autoConnect": {"type": "boolean"},
            "active": {"type": "boolean"},
            "phoneNumber": STR_OR_NULL,
            "jid": STR_OR_NULL,
            "lid": STR_OR_NULL,
            "lastError": STR_OR_NULL,
            "lastConnectedAt": ISO_OR_NULL,
            "lastMessageAt": ISO_OR_NULL,
            "lastStatusCheck": ISO_OR_NULL,
            "createdAt": ISO,
            "updatedAt": ISO,
            "socketAlive": {
                "type": "boolean",
                "description": "connected, client running, and a frame received recently",
            },
            "liveness": obj(
                {
                    "connectedAt": ISO_OR_NULL,
                    "lastFrameAt": ISO_OR_NULL,
                    "lastPongAt": ISO_OR_NULL,
                    "pingRttMs": {"type": ["number", "null"]},
                }
            ),
            "recoveriesLastHour": {"type": "integer", "minimum": 0},
            "restrictions": array(ref("Restriction")),
        }
    ),
    # What the service announced about the account: a reachout time-lock or the new-chat
    # message cap. While one blocks new chats, messages to contacts without a privacy token
    # wait (outbox "held") until it ends; established chats keep flowing.
    "Restriction": obj(
        {
            "kind": {"type": "string", "enum": ["reachout_timelock", "message_capping"]},
            "blocksNewChats": {"type": "boolean"},
            "until": ISO_OR_NULL,
            "detail": {"type": "string"},
            "usedQuota": {"type": ["integer", "null"]},
            "totalQuota": {"type": ["integer", "null"]},
        }
    ),
    "SessionList": obj({"sessions": array(ref("Session"))}),
    "SessionCreate": obj(
        {
            "id": {"type": "string", "pattern": SESSION_ID_PATTERN},
            "name": {"type": "string", "maxLength": 200},
            "autoConnect": {"type": "boolean"},
        },
        required=[],
    ),
    "SessionUpdate": obj(
        {
            "name": {"type": "string", "maxLength": 200},
            "autoConnect": {"type": "boolean"},
            "active": {"type": "boolean"},
        },
        required=[],
    ),
    "SessionCreated": obj({"session": ref("Session"), "apiKey": ref("IssuedApiKey")}),
    "ReconnectResult": obj({"success": {"type": "boolean"}, "message": {"type": "string"}}),
    "Qr": obj(
        {
            "sessionId": {"type": "string"},
            "qr": {"type": "string", "description": "the string to render as a QR code"},
            "index": {"type": "integer", "minimum": 0},
            "expiresAt": ISO,
        }
    ),
    "PairingStarted": obj(
        {"sessionId": {"type": "string"}, "status": {"type": "string", "const": "pairing"}}
    ),
    "PairCodeRequest": obj(
        {
            "phone": {
                "type": "string",
                "pattern": "^[+]?[1-9][0-9]{6,19}$",
                "description": "international format; spaces, dashes and brackets are ignored",
            }
        }
    ),
    "PairCode": obj(
        {
            "sessionId": {"type": "string"},
            "code": {"type": "string", "pattern": "^[A-Z0-9]{4}-[A-Z0-9]{4}$"},
            "phone": {"type": "string"},
            "expiresAt": ISO,
        }
    ),
    "ApiKey": obj(API_KEY),
    "IssuedApiKey": obj(
        {
            **API_KEY,
            "key": {"type": "string", "description": "shown once; send it as x-api-key"},
        }
    ),
    "ApiKeyList": obj({"apiKeys": array(ref("ApiKey"))}),
    "ApiKeyCreate": obj(
        {
            "label": {"type": "string", "maxLength": 200},
            "chats": KEY_CHATS,
            "canSend": {"type": "boolean", "description": "default true"},
            "createdBy": {"type": "string", "maxLength": 200, "description": "who asked for it"},
        },
        required=[],
    ),
    "ApiKeyUpdate": obj(
        {
            "label": {"type": "string", "maxLength": 200},
            "chats": KEY_CHATS,
            "canSend": {"type": "boolean"},
        },
        required=[],
    ),
    "Event": obj(
        {
            "id": {"type": "string", "description": "stable; deduplicate on it"},
            "sessionId": {"type": "string"},
            "seq": {"type": "integer", "minimum": 1, "description": "the session's cursor"},
            "type": {"type": "string", "enum": EVENT_TYPES},
            "createdAt": ISO,
            "data": {"type": "object"},
        }
    ),
    "EventPage": obj(
        {
            "events": array(ref("Event")),
            "nextCursor": {"type": "integer"},
            "lastSeq": {
                "type": "integer",
                "minimum": 0,
                "description": "the session's newest seq (0: none yet): after=lastSeq-N reads "
                "the newest N",
            },
        }
    ),
    "Caller": obj(
        {
            "role": {"type": "string", "enum": ["admin", "session"]},
            "sessionId": {
                "type": ["string", "null"],
                "description": "the session a session key belongs to; null for the admin key",
            },
        }
    ),
    "SendMessage": {
        "description": "One of: text, reply, reaction, edit, delete, location, contact, or a "
        "file by url (by 'type', default text).",
        "oneOf": [
            send_kind("text", {"text": MESSAGE_TEXT}, type_required=False),
            send_kind("reply", {"text": MESSAGE_TEXT, "quotedId": MESSAGE_ID}),
            send_kind(
                "reaction",
                {
                    "messageId": MESSAGE_ID,
                    "emoji": {"type": "string", "maxLength": 32, "description": "empty: remove"},
                },
            ),
            send_kind("edit", {"messageId": MESSAGE_ID, "text": MESSAGE_TEXT}),
            send_kind("delete", {"messageId": MESSAGE_ID}),
            send_kind(
                "location",
                {
                    "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                    "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                    "name": {"type": "string", "maxLength": 1000, "description": "the place"},
                    "address": {"type": "string", "maxLength": 1000},
                },
                required=["latitude", "longitude"],
            ),
            send_kind(
                "contact",
                {
                    "contacts": {
                        **array(
                            obj(
                                {
                                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                                    "phone": PHONE,
                                }
                            )
                        ),
                        "minItems": 1,
                        "maxItems": 20,
                    }
                },
            ),
            *media_variants(
                CHAT,
                {
                    "url": {
                        "type": "string",
                        "minLength": 1,
                        "description": "media: http(s) URL the daemon downloads (size and "
                        "time limits; 502/504 when it cannot)",
                    }
                },
            ),
        ],
    },
    "SendMediaUpload": {
        "oneOf": media_variants(CHAT, {"file": {"type": "string", "format": "binary"}})
    },
    "OutboxMessage": obj(OUTBOX_MESSAGE),
    "OutboxPage": obj(
        {
            "messages": array(ref("OutboxMessage")),
            "nextCursor": STR_OR_NULL,
            "counts": {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
            "paused": {
                "oneOf": [
                    {"type": "null"},
                    obj({"until": ISO, "reason": {"type": "string"}}),
                ]
            },
        }
    ),
    "ResumeResult": obj({"resumed": {"type": "boolean"}}),
    "Message": obj(
        {
            "id": {"type": "string"},
            "chat": {"type": "string"},
            "sender": {"type": "string"},
            "senderDevice": STR_OR_NULL,
            "fromMe": {"type": "boolean"},
            "timestamp": ISO,
            "type": {"type": "string"},
            "status": {"type": "string", "enum": MESSAGE_STATUSES},
            "text": STR_OR_NULL,
            "quotedId": STR_OR_NULL,
            "targetId": STR_OR_NULL,
            "pushName": STR_OR_NULL,
            "editedAt": ISO_OR_NULL,
            "revokedAt": ISO_OR_NULL,
            "media": {"oneOf": [{"type": "null"}, ref("MediaInfo")]},
        }
    ),
    "MediaInfo": obj(
        {
            "kind": {
                "type": "string",
                "enum": ["image", "video", "audio", "ptt", "document", "sticker"],
            },
            "mimetype": STR_OR_NULL,
            "size": {"type": ["integer", "null"], "minimum": 0},
            "fileName": STR_OR_NULL,
            "durationSeconds": {"type": ["integer", "null"], "minimum": 0},
            "width": {"type": ["integer", "null"], "minimum": 0},
            "height": {"type": ["integer", "null"], "minimum": 0},
        }
    ),
    "MessagePage": obj({"messages": array(ref("Message")), "nextCursor": STR_OR_NULL}),
    "Receipt": obj(
        {
            "recipient": {"type": "string"},
            "status": {"type": "string", "enum": ["delivered", "read", "played"]},
            "deliveredAt": ISO_OR_NULL,
            "readAt": ISO_OR_NULL,
            "playedAt": ISO_OR_NULL,
        }
    ),
    "SentMessage": obj(
        {
            **OUTBOX_MESSAGE,
            "message": {"oneOf": [{"type": "null"}, ref("Message")]},
            "receipts": array(ref("Receipt")),
        }
    ),
    "Chat": obj(
        {
            "jid": {"type": "string"},
            # The person's LID (one chat per person, whichever name a message used).
            "lid": STR_OR_NULL,
            "kind": {"type": "string", "enum": ["user", "group", "broadcast", "other"]},
            "name": STR_OR_NULL,
            "lastMessage": {
                "oneOf": [
                    {"type": "null"},
                    obj(
                        {
                            "id": {"type": "string"},
                            "sender": STR_OR_NULL,
                            "fromMe": {"type": ["boolean", "null"]},
                            "preview": STR_OR_NULL,
                            "timestamp": ISO_OR_NULL,
                        }
                    ),
                ]
            },
            "unreadCount": {"type": "integer", "minimum": 0},
            "updatedAt": ISO,
        }
    ),
    "ChatPage": obj({"chats": array(ref("Chat")), "nextCursor": STR_OR_NULL}),
    "MarkRead": obj({"ids": {**array(MESSAGE_ID), "maxItems": 500}}, required=[]),
    "MarkReadResult": obj({"read": {"type": "integer", "minimum": 0}}),
    "HistoryRequest": obj(
        {
            "count": {
                "type": "integer",
                "minimum": 1,
                "maximum": 500,
                "description": "how many messages (default 50)",
            }
        },
        required=[],
    ),
    "HistoryRequested": obj(
        {
            "requested": {"type": "boolean", "const": True},
            "requestId": {"type": "string", "description": "the peer request's message id"},
        }
    ),
    "Archive": obj({"archived": {"type": "boolean"}}),
    "Webhook": obj(
        {
            "id": {"type": "string"},
            "sessionId": {"type": ["string", "null"], "description": "null: global"},
            "url": {"type": "string"},
            "events": array({"type": "string", "enum": EVENT_TYPES}),
            "enabled": {"type": "boolean"},
            "parkedReason": {
                "type": ["string", "null"],
                "description": "why the daemon disabled this webhook (it could not deliver to "
                "it); enabling it again clears this",
            },
            "parkedAt": ISO_OR_NULL,
            "createdAt": ISO,
            "updatedAt": ISO,
            "secret": {"type": "string", "description": "only when created"},
            "chats": {
                "type": "array",
                "items": {"type": "string"},
                "description": "made with a chat-restricted key: only these chats' events",
            },
            "deliveries": obj(
                {
                    "pending": {"type": "integer"},
                    "delivered": {"type": "integer"},
                    "dead": {"type": "integer"},
                }
            ),
        },
        required=[
            "id",
            "sessionId",
            "url",
            "events",
            "enabled",
            "parkedReason",
            "parkedAt",
            "createdAt",
            "updatedAt",
        ],
    ),
    "WebhookList": obj({"webhooks": array(ref("Webhook"))}),
    "WebhookCreate": obj(
        {
            "url": {"type": "string", "pattern": URL_PATTERN, "maxLength": 2048},
            "secret": SECRET,
            "events": {**array({"type": "string", "enum": EVENT_TYPES}), "maxItems": 100},
            "enabled": {"type": "boolean"},
        },
        required=["url"],
    ),
    "WebhookUpdate": obj(
        {
            "url": {"type": "string", "pattern": URL_PATTERN, "maxLength": 2048},
            "secret": SECRET,
            "events": {**array({"type": "string", "enum": EVENT_TYPES}), "maxItems": 100},
            "enabled": {"type": "boolean"},
        },
        required=[],
    ),
    "Delivery": obj(
        {
            "id": {"type": "integer"},
            "webhookId": {"type": "string"},
            "eventId": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "delivered", "dead"]},
            "attempts": {"type": "integer", "minimum": 0},
            "nextAttemptAt": ISO_OR_NULL,
            "lastStatusCode": {"type": ["integer", "null"]},
            "lastError": STR_OR_NULL,
            "createdAt": ISO,
            "deliveredAt": ISO_OR_NULL,
        }
    ),
    "DeliveryPage": obj(
        {"deliveries": array(ref("Delivery")), "nextCursor": {"type": ["integer", "null"]}}
    ),
    "ReplayRequest": obj(
        {
            "ids": {
                **array({"type": "integer", "minimum": 1, "maximum": INT64_MAX}),
                "maxItems": 1000,
            }
        },
        required=[],
    ),
    "ReplayResult": obj({"replayed": {"type": "integer", "minimum": 0}}),
}


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
WEBHOOK_ID = {"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "string"}}
CHAT_JID = {"name": "jid", "in": "path", "required": True, "schema": CHAT}
PAGE_LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
}
WAIT = {
    "name": "wait",
    "in": "query",
    "schema": {"type": "number", "minimum": 0, "maximum": 60},
    "description": "seconds to wait for the outcome (default 10)",
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


PATHS: dict[str, Any] = {
    "/health": {
        "get": op(
            "getHealth",
            "Liveness summary (no key): ok, degraded or error",
            {"200": _ok(ref("Health")), "503": _ok(ref("Health"), "status is error")},
            public=True,
            tags=["health"],
        )
    },
    "/health/deep": {
        "get": op(
            "getDeepHealth",
            "Database latency and per-session liveness evidence",
            {"200": _ok(ref("DeepHealth")), "503": _ok(ref("DeepHealth"), "status is error")},
            tags=["health"],
        )
    },
    "/whoami": {
        "get": op(
            "whoami",
            "Who the key is: the admin, or the session it is scoped to",
            {"200": _ok(ref("Caller"))},
            tags=["meta"],
        )
    },
    "/openapi.json": {
        "get": op("getOpenApi", "This document", {"200": _ok({"type": "object"})}, tags=["meta"])
    },
    "/metrics": {
        "get": op(
            "getMetrics",
            "Prometheus metrics (admin key, the metrics key, or loopback when "
            "http.metrics_loopback is on)",
            {
                "200": {
                    "description": "Prometheus text exposition format 0.0.4",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
            tags=["meta"],
        )
    },
    "/sessions": {
        "get": op("listSessions", "Sessions the key may see", {"200": _ok(ref("SessionList"))}),
        "post": op(
            "createSession",
            "Create a session (admin); answers with a key scoped to it, shown once",
            {"201": _ok(ref("SessionCreated"), "Created")},
            body=ref("SessionCreate"),
            body_required=False,
        ),
    },
    "/sessions/{id}": {
        "parameters": [SESSION_ID],
        "get": op(
            "getSession",
            "A session, after a real status check (lastStatusCheck is refreshed)",
            {"200": _ok(ref("Session"))},
        ),
        "patch": op(
            "updateSession",
            "Rename, toggle autoConnect/active",
            {"200": _ok(ref("Session"))},
            body=ref("SessionUpdate"),
        ),
        "delete": op(
            "deleteSession",
            "Log out, then delete the session and all its data (idempotent, admin)",
            {"204": {"description": "Deleted (or was not there)"}},
        ),
    },
    "/sessions/{id}/connect": {
        "parameters": [SESSION_ID],
        "post": op(
            "connectSession", "Connect with the stored identity", {"202": _ok(ref("Session"))}
        ),
    },
    "/sessions/{id}/disconnect": {
        "parameters": [SESSION_ID],
        "post": op(
            "disconnectSession", "Close the socket and stay stopped", {"200": _ok(ref("Session"))}
        ),
    },
    "/sessions/{id}/reconnect": {
        "parameters": [SESSION_ID],
        "post": op(
            "reconnectSession",
            "Close the socket and connect again; waits for the login",
            {"200": _ok(ref("ReconnectResult"))},
            parameters=[WAIT],
        ),
    },
    "/sessions/{id}/logout": {
        "parameters": [SESSION_ID],
        "post": op(
            "logoutSession", "Unlink this device (identity retired)", {"200": _ok(ref("Session"))}
        ),
    },
    "/sessions/{id}/pair": {
        "parameters": [SESSION_ID],
        "post": op(
            "startPairing",
            "Start QR pairing (idempotent); answers with the first QR",
            {"200": _ok(ref("Qr")), "202": _ok(ref("PairingStarted"), "No QR yet")},
            parameters=[WAIT],
        ),
    },
    "/sessions/{id}/qr": {
        "parameters": [SESSION_ID],
        "get": op(
            "getQr",
            "The current pairing QR as JSON, PNG or SVG (?format= or Accept)",
            {
                "200": {
                    "description": "The QR",
                    "content": {
                        "application/json": {"schema": ref("Qr")},
                        "image/png": {"schema": {"type": "string", "contentEncoding": "binary"}},
                        "image/svg+xml": {"schema": {"type": "string"}},
                    },
                }
            },
            parameters=[
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["json", "png", "svg"]},
                }
            ],
        ),
    },
    "/sessions/{id}/pair-code": {
        "parameters": [SESSION_ID],
        "post": op(
            "requestPairCode",
            "Pair by phone number: the code to type on that phone",
            {"200": _ok(ref("PairCode"))},
            body=ref("PairCodeRequest"),
        ),
    },
    "/sessions/{id}/api-keys": {
        "parameters": [SESSION_ID],
        "get": op("listApiKeys", "The session's keys (admin)", {"200": _ok(ref("ApiKeyList"))}),
        "post": op(
            "createApiKey",
            "A new key scoped to the session (admin), optionally to some chats; shown once",
            {"201": _ok(ref("IssuedApiKey"), "Created")},
            body=ref("ApiKeyCreate"),
            body_required=False,
        ),
    },
    "/sessions/{id}/api-keys/{key_id}": {
        "parameters": [
            SESSION_ID,
            {"name": "key_id", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "patch": op(
            "updateApiKey",
            "Change a key's label, chats or right to send (admin); open streams follow",
            {"200": _ok(ref("ApiKey"))},
            body=ref("ApiKeyUpdate"),
        ),
        "delete": op("deleteApiKey", "Revoke a key (admin)", {"204": {"description": "Revoked"}}),
    },
    "/sessions/{id}/events": {
        "parameters": [SESSION_ID],
        "get": op(
            "sessionEvents",
            "The event log: JSON pages, Server-Sent Events, or a WebSocket; resumable",
            {
                "200": {
                    "description": "A page (JSON) or a stream (text/event-stream)",
                    "content": {
                        "application/json": {"schema": ref("EventPage")},
                        "text/event-stream": {"schema": {"type": "string"}},
                    },
                },
                "101": {"description": "WebSocket: one text message per event (Event)"},
            },
            parameters=[
                {
                    "name": "after",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                },
                {
                    "name": "types",
                    "in": "query",
                    "schema": {"type": "string", "pattern": TYPES_PATTERN},
                    "description": "comma-separated event types to keep",
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                },
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                },
            ],
            tags=["events"],
        ),
    },
    "/sessions/{id}/messages": {
        "parameters": [SESSION_ID],
        "post": {
            **op(
                "sendMessage",
                "Queue a message: 202 with its id at once; the outbox sends it. A file comes "
                "as multipart/form-data or by url (413 media-too-large, 415 "
                "unsupported-media-type); a read-only group is 409 read-only-group",
                {"202": _ok(ref("OutboxMessage"), "Accepted")},
                parameters=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "schema": {"type": "string", "pattern": "^[ -~]{1,255}$"},
                    }
                ],
                tags=["messages"],
            ),
            "requestBody": {
                "required": True,
                "content": {
                    **_json(ref("SendMessage")),
                    "multipart/form-data": {"schema": ref("SendMediaUpload")},
                },
            },
        },
    },
    "/sessions/{id}/messages/{message_id}": {
        "parameters": [
            SESSION_ID,
            {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "get": op(
            "getMessage",
            "A sent message: its outbox state, the stored message and per-recipient receipts",
            {"200": _ok(ref("SentMessage"))},
            tags=["messages"],
        ),
    },
    "/sessions/{id}/messages/{message_id}/media": {
        "parameters": [
            SESSION_ID,
            {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "get": op(
            "getMessageMedia",
            "A media message's file with its mimetype, downloaded first if not yet stored "
            "(404 no-media: no such message or no file; 502 media-unavailable: not fetched)",
            {
                "200": {
                    "description": "The file's bytes",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                }
            },
            parameters=[
                {
                    "name": "chat",
                    "in": "query",
                    "required": True,
                    "schema": CHAT,
                    "description": "the message's chat (ids are unique only within a chat)",
                }
            ],
            tags=["messages"],
        ),
    },
    "/sessions/{id}/outbox": {
        "parameters": [SESSION_ID],
        "get": op(
            "listOutbox",
            "Sent and pending messages, newest first",
            {"200": _ok(ref("OutboxPage"))},
            parameters=[
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": OUTBOX_STATUSES},
                },
                {"name": "before", "in": "query", "schema": {"type": "string"}},
                PAGE_LIMIT,
            ],
            tags=["messages"],
        ),
    },
    "/sessions/{id}/chats": {
        "parameters": [SESSION_ID],
        "get": op(
            "listChats",
            "Chats by last activity with the last-message preview and unread count",
            {"200": _ok(ref("ChatPage"))},
            parameters=[
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                PAGE_LIMIT,
            ],
            tags=["messages"],
        ),
    },
    "/sessions/{id}/chats/{jid}/messages": {
        "parameters": [
            SESSION_ID,
            CHAT_JID,
        ],
        "get": op(
            "listChatMessages",
            "A chat's messages, newest first (default 20, max 100); with `after`, oldest "
            "first after that position",
            {"200": _ok(ref("MessagePage"))},
            parameters=[
                {
                    "name": "before",
                    "in": "query",
                    "description": "a cursor, an ISO 8601 time or epoch milliseconds",
                    "schema": {"type": "string"},
                },
                {
                    "name": "after",
                    "in": "query",
                    "description": "a cursor, an ISO 8601 time or epoch milliseconds",
                    "schema": {"type": "string"},
                },
                PAGE_LIMIT,
            ],
            tags=["messages"],
        ),
    },
    "/sessions/{id}/chats/{jid}/read": {
        "parameters": [
            SESSION_ID,
            CHAT_JID,
        ],
        "post": op(
            "markRead",
            "Send read receipts (for ids, or every unread message among the newest 100)",
            {"200": _ok(ref("MarkReadResult"))},
            body=ref("MarkRead"),
            body_required=False,
            tags=["messages"],
        ),
    },
    "/sessions/{id}/chats/{jid}/history": {
        "parameters": [
            SESSION_ID,
            CHAT_JID,
        ],
        "post": op(
            "requestHistory",
            "Ask the phone for older messages of the chat (they arrive later, as history)",
            {"202": _ok(ref("HistoryRequested"), "Accepted")},
            body=ref("HistoryRequest"),
            body_required=False,
            tags=["messages"],
        ),
    },
    "/sessions/{id}/chats/{jid}/archive": {
        "parameters": [
            SESSION_ID,
            CHAT_JID,
        ],
        "post": op(
            "archiveChat",
            "Archive or unarchive the chat on every device (an app-state patch)",
            {"200": _ok(ref("Archive"))},
            body=ref("Archive"),
            tags=["messages"],
        ),
    },
    "/sessions/{id}/outbox/resume": {
        "parameters": [SESSION_ID],
        "post": op(
            "resumeOutbox",
            "Lift a restriction pause",
            {"200": _ok(ref("ResumeResult"))},
            tags=["messages"],
        ),
    },
    "/sessions/{id}/webhooks": {
        "parameters": [SESSION_ID],
        "get": op(
            "listSessionWebhooks",
            "The session's webhooks",
            {"200": _ok(ref("WebhookList"))},
            tags=["webhooks"],
        ),
        "post": op(
            "createSessionWebhook",
            "A webhook for this session's events",
            {"201": _ok(ref("Webhook"), "Created (the secret is shown)")},
            body=ref("WebhookCreate"),
            tags=["webhooks"],
        ),
    },
    "/webhooks": {
        "get": op(
            "listWebhooks",
            "Webhooks the key may see",
            {"200": _ok(ref("WebhookList"))},
            tags=["webhooks"],
        ),
        "post": op(
            "createGlobalWebhook",
            "A webhook for every session's events (admin)",
            {"201": _ok(ref("Webhook"), "Created (the secret is shown)")},
            body=ref("WebhookCreate"),
            tags=["webhooks"],
        ),
    },
    "/webhooks/{webhook_id}": {
        "parameters": [WEBHOOK_ID],
        "get": op(
            "getWebhook",
            "A webhook with delivery counts",
            {"200": _ok(ref("Webhook"))},
            tags=["webhooks"],
        ),
        "patch": op(
            "updateWebhook",
            "Change a webhook",
            {"200": _ok(ref("Webhook"))},
            body=ref("WebhookUpdate"),
            tags=["webhooks"],
        ),
        "delete": op(
            "deleteWebhook",
            "Delete a webhook",
            {"204": {"description": "Deleted"}},
            tags=["webhooks"],
        ),
    },
    "/webhooks/{webhook_id}/deliveries": {
        "parameters": [WEBHOOK_ID],
        "get": op(
            "listDeliveries",
            "Deliveries (status=dead is the dead-letter list)",
            {"200": _ok(ref("DeliveryPage"))},
            parameters=[
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["pending", "delivered", "dead"]},
                },
                {
                    "name": "after",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": INT64_MAX},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                },
            ],
            tags=["webhooks"],
        ),
    },
    "/webhooks/{webhook_id}/deliveries/replay": {
        "parameters": [WEBHOOK_ID],
        "post": op(
            "replayDeliveries",
            "Send dead letters again (all, or the ids given)",
            {"200": _ok(ref("ReplayResult"))},
            body=ref("ReplayRequest"),
            body_required=False,
            tags=["webhooks"],
        ),
    },
}


def document() -> dict[str, Any]:
    # Feature parts import this module's helpers, so they are merged here, at call time.
    from http_api import openapi_campaigns, openapi_contacts, openapi_groups

    paths = {**PATHS, **openapi_groups.PATHS, **openapi_contacts.PATHS, **openapi_campaigns.PATHS}
    schemas = {
        **SCHEMAS,
        **openapi_groups.SCHEMAS,
        **openapi_contacts.SCHEMAS,
        **openapi_campaigns.SCHEMAS,
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wamd control API",
            "version": VERSION,
            "description": (
                "Local HTTP API of the wamd daemon: sessions, pairing, sending through the "
                "outbox, the event log (SSE/WebSocket) and webhooks. Every path but /health "
                "needs an x-api-key header: the admin key, or a key scoped to one session. "
                "Errors are RFC 9457 problem+json."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "security": [{"ApiKey": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
        },
    }


__all__ = ["SCHEMAS", "document"]
