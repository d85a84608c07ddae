"""The sessions part of the OpenAPI document: sessions, pairing and API keys."""

from __future__ import annotations

from typing import Any

from http_api.openapi_common import (
    CHAT,
    ISO,
    ISO_OR_NULL,
    SERVED_BY,
    SESSION_ID,
    SESSION_ID_PATTERN,
    SESSION_STATUSES,
    STR_OR_NULL,
    Schema,
    _ok,
    array,
    obj,
    op,
    ref,
)

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
WAIT = {
    "name": "wait",
    "in": "query",
    "schema": {"type": "number", "minimum": 0, "maximum": 60},
    "description": "seconds to wait for the outcome (default 10)",
}

SCHEMAS: dict[str, Schema] = {
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
            "servedBy": SERVED_BY,
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
}

PATHS: dict[str, Any] = {
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
}


__all__ = ["PATHS", "SCHEMAS"]
