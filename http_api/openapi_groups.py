"""The groups part of the OpenAPI document (merged by :func:`http_api.openapi.document`)."""

from __future__ import annotations

from typing import Any

from http_api.openapi import (
    GROUP,
    ISO_OR_NULL,
    PAGE_LIMIT,
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

GROUP_JID = {
    "name": "jid",
    "in": "path",
    "required": True,
    "schema": GROUP,
    "description": "the group's JID (<id>@g.us) or its bare id",
}
SUBJECT = {"type": "string", "maxLength": 100, "pattern": "[^ \t\n\r\f\v]"}
"""1 to 100 characters, not all blank."""
BOOL_QUERY = {"type": "string", "enum": ["true", "false"]}
USERS = {
    "type": "array",
    "items": {**USER, "description": "a user JID or an international phone number"},
    "minItems": 1,
    "maxItems": 256,
}

SCHEMAS: dict[str, Schema] = {
    "GroupParticipant": obj(
        {
            "jid": {"type": "string", "description": "the member (phone-number JID when known)"},
            "phoneNumber": STR_OR_NULL,
            "lid": STR_OR_NULL,
            "role": {"type": "string", "enum": ["member", "admin", "superadmin"]},
            "isAdmin": {"type": "boolean"},
        }
    ),
    "Group": obj(
        {
            "jid": {"type": "string"},
            "subject": {"type": "string"},
            "description": {"type": "string"},
            "owner": STR_OR_NULL,
            "createdAt": ISO_OR_NULL,
            "addressingMode": {"type": "string", "enum": ["pn", "lid"]},
            "announce": {"type": "boolean", "description": "only admins may send"},
            "locked": {"type": "boolean", "description": "only admins may edit the group"},
            "isMember": {"type": "boolean"},
            "isAdmin": {"type": "boolean", "description": "this session is an admin"},
            "readOnly": {
                "type": "boolean",
                "description": "not a member, or announce-only and not an admin: sends are 409",
            },
            "lastSyncedAt": ISO_OR_NULL,
            "participants": array(ref("GroupParticipant")),
        }
    ),
    "GroupPage": obj({"groups": array(ref("Group")), "nextCursor": STR_OR_NULL}),
    "GroupCreate": obj({"subject": SUBJECT, "participants": USERS}),
    "GroupUpdate": obj(
        {
            "subject": SUBJECT,
            "description": {"type": "string", "maxLength": 2048, "description": "'' removes it"},
            "announce": {"type": "boolean"},
            "locked": {"type": "boolean"},
        },
        required=[],
        minProperties=1,
    ),
    "GroupParticipants": obj({"participants": USERS}),
    "GroupAdmins": obj({"promote": USERS, "demote": USERS}, required=[], minProperties=1),
    "GroupLeft": obj({"jid": {"type": "string"}, "left": {"type": "boolean"}}),
    "GroupInvite": obj(
        {"jid": {"type": "string"}, "code": {"type": "string"}, "link": {"type": "string"}}
    ),
    "GroupJoin": obj(
        {
            "code": {
                "type": "string",
                "pattern": "^(?:https://chat[.]whatsapp[.]com/)?[A-Za-z0-9]{1,64}$",
                "description": "a code or a whole link",
            }
        }
    ),
    "GroupJoined": obj(
        {
            "jid": {"type": "string"},
            "pendingApproval": {
                "type": "boolean",
                "description": "the group's admins must approve the request first",
            },
            "group": {"oneOf": [{"type": "null"}, ref("Group")]},
        }
    ),
}

TAGS = ["groups"]


def _group_op(operation_id: str, summary: str, ok: Schema, **extra: Any) -> dict[str, Any]:
    return op(operation_id, summary, {"200": _ok(ok)}, tags=TAGS, **extra)


PATHS: dict[str, Any] = {
    "/sessions/{id}/groups": {
        "parameters": [SESSION_ID],
        "get": _group_op(
            "listGroups",
            "Stored groups in JID order (a chat-restricted key sees only its groups)",
            ref("GroupPage"),
            parameters=[
                {
                    "name": "member",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                },
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {**PAGE_LIMIT, "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
            ],
        ),
        "post": op(
            "createGroup",
            "Create a group with a subject and participants; this session is its super admin",
            {"201": _ok(ref("Group"), "Created")},
            body=ref("GroupCreate"),
            tags=TAGS,
        ),
    },
    "/sessions/{id}/groups/join": {
        "parameters": [SESSION_ID],
        "post": _group_op(
            "joinGroup",
            "Join by invite code or link (410 invite-revoked, 404 invite-invalid)",
            ref("GroupJoined"),
            body=ref("GroupJoin"),
        ),
    },
    "/sessions/{id}/groups/sync": {
        "parameters": [SESSION_ID],
        "post": _group_op(
            "syncGroups",
            "Fetch every group the session is in now, as at login (left ones turn read-only)",
            obj({"synced": {"type": "integer", "minimum": 0}}),
        ),
    },
    "/sessions/{id}/groups/{jid}": {
        "parameters": [SESSION_ID, GROUP_JID],
        "get": _group_op(
            "getGroup",
            "A stored group; ?refresh=true asks the server for fresh metadata first",
            ref("Group"),
            parameters=[
                {
                    "name": "refresh",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                }
            ],
        ),
        "patch": _group_op(
            "updateGroup",
            "Change the subject, description, announce or locked setting",
            ref("Group"),
            body=ref("GroupUpdate"),
        ),
    },
    "/sessions/{id}/groups/{jid}/participants": {
        "parameters": [SESSION_ID, GROUP_JID],
        "post": _group_op(
            "addGroupParticipants",
            "Add participants (422 participants-refused lists those the server refused)",
            ref("Group"),
            body=ref("GroupParticipants"),
        ),
        "delete": _group_op(
            "removeGroupParticipants",
            "Remove participants",
            ref("Group"),
            body=ref("GroupParticipants"),
        ),
    },
    "/sessions/{id}/groups/{jid}/admins": {
        "parameters": [SESSION_ID, GROUP_JID],
        "post": _group_op(
            "changeGroupAdmins",
            "Promote and/or demote participants",
            ref("Group"),
            body=ref("GroupAdmins"),
        ),
    },
    "/sessions/{id}/groups/{jid}/leave": {
        "parameters": [SESSION_ID, GROUP_JID],
        "post": _group_op(
            "leaveGroup",
            "Leave the group; it stays stored, read-only",
            {"oneOf": [ref("Group"), ref("GroupLeft")]},
        ),
    },
    "/sessions/{id}/groups/{jid}/invite": {
        "parameters": [SESSION_ID, GROUP_JID],
        "get": _group_op("getGroupInvite", "The group's invite link", ref("GroupInvite")),
        "delete": _group_op(
            "revokeGroupInvite",
            "Revoke the invite link; the answer carries the new one",
            ref("GroupInvite"),
        ),
    },
}

__all__ = ["PATHS", "SCHEMAS"]
