"""The contacts, lookups, presence and chat-actions (pin, mute, star) part of the OpenAPI
document (merged by :func:`http_api.openapi.document`)."""

from __future__ import annotations

from typing import Any

from http_api.openapi import (
    CHAT,
    CHAT_JID,
    ISO,
    ISO_OR_NULL,
    PHONE_NUMBER,
    SESSION_ID,
    STR_OR_NULL,
    USER,
    Schema,
    _ok,
    array,
    obj,
    op,
    ref,
)

TAGS = ["contacts"]
PERSON = {
    "name": "jid",
    "in": "path",
    "required": True,
    "schema": USER,
    "description": "a user JID (phone number or LID) or an international phone number",
}

SCHEMAS: dict[str, Schema] = {
    "Contact": obj(
        {
            "jid": {"type": "string"},
            "phoneNumber": STR_OR_NULL,
            "lid": STR_OR_NULL,
            "pushName": STR_OR_NULL,
            "fullName": {**STR_OR_NULL, "description": "from our phone's address book"},
            "firstName": STR_OR_NULL,
        }
    ),
    "ContactPage": obj({"contacts": array(ref("Contact")), "nextCursor": STR_OR_NULL}),
    "NumberCheckRequest": obj({"numbers": {**array(PHONE_NUMBER), "minItems": 1, "maxItems": 500}}),
    "NumberCheckResult": obj(
        {
            "results": array(
                obj(
                    {
                        "number": {"type": "string", "description": "digits, as asked"},
                        "onWhatsApp": {"type": "boolean"},
                        "jid": STR_OR_NULL,
                        "lid": STR_OR_NULL,
                        "businessName": STR_OR_NULL,
                    }
                )
            )
        }
    ),
    "ProfilePicture": obj(
        {
            "jid": {"type": "string"},
            "id": {"type": "string"},
            "url": {"type": "string"},
            "type": {"type": "string", "enum": ["image", "preview"]},
            "directPath": {"type": "string"},
        }
    ),
    "LidMapping": obj({"pn": {"type": "string"}, "lid": {"type": "string"}}),
    "PresenceState": obj({"state": {"type": "string", "enum": ["available", "unavailable"]}}),
    "ChatPresence": obj(
        {"state": {"type": "string", "enum": ["composing", "recording", "paused"]}}
    ),
    "ChatPresenceSent": obj(
        {
            "chat": {"type": "string"},
            "state": {"type": "string", "enum": ["composing", "recording", "paused"]},
        }
    ),
    "PresenceSubscribed": obj({"jid": {"type": "string"}, "subscribed": {"type": "boolean"}}),
    "Pin": obj({"pinned": {"type": "boolean"}}),
    "Pinned": obj({"chat": {"type": "string"}, "pinned": {"type": "boolean"}}),
    "Mute": {
        "oneOf": [
            obj(
                {
                    "muted": {"type": "boolean", "const": True},
                    "until": {**ISO, "description": "muted until then; without it, for good"},
                },
                required=["muted"],
            ),
            obj({"muted": {"type": "boolean", "const": False}}),
        ]
    },
    "Muted": obj({"chat": {"type": "string"}, "muted": {"type": "boolean"}, "until": ISO_OR_NULL}),
    "Star": obj({"chat": CHAT, "starred": {"type": "boolean"}}),
    "Starred": obj(
        {"chat": {"type": "string"}, "id": {"type": "string"}, "starred": {"type": "boolean"}}
    ),
}

CHAT_ACTION_TAGS = ["messages"]

PATHS: dict[str, Any] = {
    "/sessions/{id}/contacts": {
        "parameters": [SESSION_ID],
        "get": op(
            "listContacts",
            "People this session knows, with PN, LID, push name and address-book names",
            {"200": _ok(ref("ContactPage"))},
            parameters=[
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                },
            ],
            tags=TAGS,
        ),
    },
    "/sessions/{id}/contacts/check": {
        "parameters": [SESSION_ID],
        "post": op(
            "checkNumbers",
            "Which numbers are on WhatsApp, with their JIDs and LIDs (usync, in batches); "
            "400 invalid-phone-number lists the inputs that are not numbers",
            {"200": _ok(ref("NumberCheckResult"))},
            body=ref("NumberCheckRequest"),
            tags=TAGS,
        ),
    },
    "/sessions/{id}/contacts/{jid}/picture": {
        "parameters": [SESSION_ID, PERSON],
        "get": op(
            "getProfilePicture",
            "The profile picture's URL and id (cached for 10 minutes); 404 no-picture, "
            "403 picture-hidden",
            {"200": _ok(ref("ProfilePicture"))},
            parameters=[
                {
                    "name": "preview",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                }
            ],
            tags=TAGS,
        ),
    },
    "/sessions/{id}/contacts/{jid}/subscribe": {
        "parameters": [SESSION_ID, PERSON],
        "post": op(
            "subscribePresence",
            "Follow the person's presence: presence.updated events while connected",
            {"202": _ok(ref("PresenceSubscribed"), "Subscribed")},
            tags=TAGS,
        ),
    },
    "/sessions/{id}/lids/{jid}": {
        "parameters": [SESSION_ID, PERSON],
        "get": op(
            "getLidMapping",
            "PN ↔ LID: a phone number's LID (asked of the server when unknown), or a LID's "
            "phone number when this session learnt it (404 mapping-unknown)",
            {"200": _ok(ref("LidMapping"))},
            tags=TAGS,
        ),
    },
    "/sessions/{id}/presence": {
        "parameters": [SESSION_ID],
        "post": op(
            "setPresence",
            "Announce this session available or unavailable",
            {"200": _ok(ref("PresenceState"))},
            body=ref("PresenceState"),
            tags=TAGS,
        ),
    },
    "/sessions/{id}/chats/{jid}/presence": {
        "parameters": [SESSION_ID, CHAT_JID],
        "post": op(
            "sendChatPresence",
            "Show typing (composing), recording a voice note, or paused in a chat",
            {"200": _ok(ref("ChatPresenceSent"))},
            body=ref("ChatPresence"),
            tags=TAGS,
        ),
    },
    "/sessions/{id}/chats/{jid}/pin": {
        "parameters": [SESSION_ID, CHAT_JID],
        "post": op(
            "pinChat",
            "Pin or unpin the chat on every device (an app-state patch)",
            {"200": _ok(ref("Pinned"))},
            body=ref("Pin"),
            tags=CHAT_ACTION_TAGS,
        ),
    },
    "/sessions/{id}/chats/{jid}/mute": {
        "parameters": [SESSION_ID, CHAT_JID],
        "post": op(
            "muteChat",
            "Mute the chat until a time or for good, or unmute it (an app-state patch)",
            {"200": _ok(ref("Muted"))},
            body=ref("Mute"),
            tags=CHAT_ACTION_TAGS,
        ),
    },
    "/sessions/{id}/messages/{message_id}/star": {
        "parameters": [
            SESSION_ID,
            {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "post": op(
            "starMessage",
            "Star or unstar a stored message on every device (an app-state patch)",
            {"200": _ok(ref("Starred"))},
            body=ref("Star"),
            tags=CHAT_ACTION_TAGS,
        ),
    },
}

__all__ = ["PATHS", "SCHEMAS"]
