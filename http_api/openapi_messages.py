"""The messages part of the OpenAPI document: sending through the outbox, stored messages
and their media, chats, read receipts, history requests and archiving."""

from __future__ import annotations

from typing import Any

from http_api.openapi_common import (
    CHAT,
    CHAT_JID,
    ISO,
    ISO_OR_NULL,
    MEDIA_TYPES,
    PAGE_LIMIT,
    SEND_MEDIA_FIELDS,
    SESSION_ID,
    STR_OR_NULL,
    Schema,
    _json,
    _ok,
    array,
    obj,
    op,
    ref,
)

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


MESSAGE_TEXT = {"type": "string", "minLength": 1, "maxLength": 65536}
PHONE = {"type": "string", "pattern": "^[+]?[0-9]{7,15}$"}
"""A contact card's number (spaces, dashes and brackets are also taken)."""
MESSAGE_ID = {"type": "string", "minLength": 1, "maxLength": 128}


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
}

PATHS: dict[str, Any] = {
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
}


__all__ = ["PATHS", "SCHEMAS", "media_variants"]
