"""The OpenAPI 3.1 document served at ``/openapi.json``.

Written as data next to the code it describes; the tests send real requests to a real daemon
and validate every response against the schema for its path, method and status
(:mod:`http_api.openapi_check`), so the document cannot drift from what the API does.

The document is split by API area (``openapi_health``, ``openapi_meta``,
``openapi_sessions``, ``openapi_events``, ``openapi_messages``, ``openapi_webhooks``,
``openapi_groups``, ``openapi_contacts``, ``openapi_campaigns``) over the shared vocabulary
of :mod:`http_api.openapi_common`, which this module re-exports for the parts that import it
from here. The parts are merged in the order the document has always listed them, so the
served JSON does not change with the split.
"""

from __future__ import annotations

from typing import Any

from http_api import (
    openapi_common,
    openapi_events,
    openapi_health,
    openapi_messages,
    openapi_meta,
    openapi_sessions,
    openapi_webhooks,
)
from http_api.openapi_common import (
    CHAT,
    CHAT_JID,
    CHAT_PATTERN,
    EVENT_TYPES,
    GROUP,
    INT64_MAX,
    ISO,
    ISO_OR_NULL,
    MEDIA_TYPES,
    PAGE_LIMIT,
    PHONE_NUMBER,
    PROBLEM_RESPONSE,
    SEND_MEDIA_FIELDS,
    SESSION_ID,
    SESSION_ID_PATTERN,
    SESSION_STATUSES,
    STR_OR_NULL,
    USER,
    Schema,
    _json,
    _ok,
    array,
    obj,
    op,
    ref,
)

VERSION = "0.1.0"

SCHEMAS: dict[str, Schema] = {
    **openapi_common.SCHEMAS,
    **openapi_health.SCHEMAS,
    **openapi_sessions.SCHEMAS,
    **openapi_events.SCHEMAS,
    **openapi_meta.SCHEMAS,
    **openapi_messages.SCHEMAS,
    **openapi_webhooks.SCHEMAS,
}
"""The core schemas (the feature parts add theirs in :func:`document`)."""
PATHS: dict[str, Any] = {
    **openapi_health.PATHS,
    **openapi_meta.PATHS,
    **openapi_sessions.PATHS,
    **openapi_events.PATHS,
    **openapi_messages.PATHS,
    **openapi_webhooks.PATHS,
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
    "VERSION",
    "Schema",
    "_json",
    "_ok",
    "array",
    "document",
    "obj",
    "op",
    "ref",
]
