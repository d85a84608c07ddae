"""The API as one table: method, path, handler. Reading it is reading the API."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from http_api.routes import (
    campaigns,
    chat_actions,
    chats,
    contacts,
    events,
    groups,
    health,
    messages,
    meta,
    metrics,
    sessions,
    sync,
    webhooks,
)

ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/health", health.health),
    ("GET", "/health/deep", health.health_deep),
    ("GET", "/openapi.json", meta.openapi),
    ("GET", "/whoami", meta.whoami),
    ("GET", "/metrics", metrics.metrics),
    ("GET", "/sessions", sessions.list_sessions),
    ("POST", "/sessions", sessions.create_session),
    ("GET", "/sessions/{id}", sessions.get_session),
    ("PATCH", "/sessions/{id}", sessions.update_session),
    ("DELETE", "/sessions/{id}", sessions.delete_session),
    ("POST", "/sessions/{id}/connect", sessions.connect),
    ("POST", "/sessions/{id}/disconnect", sessions.disconnect),
    ("POST", "/sessions/{id}/reconnect", sessions.reconnect),
    ("POST", "/sessions/{id}/logout", sessions.logout),
    ("POST", "/sessions/{id}/pair", sessions.start_pairing),
    ("GET", "/sessions/{id}/qr", sessions.get_qr),
    ("POST", "/sessions/{id}/pair-code", sessions.request_pair_code),
    ("GET", "/sessions/{id}/api-keys", sessions.list_api_keys),
    ("POST", "/sessions/{id}/api-keys", sessions.create_api_key),
    ("PATCH", "/sessions/{id}/api-keys/{key_id}", sessions.update_api_key),
    ("DELETE", "/sessions/{id}/api-keys/{key_id}", sessions.delete_api_key),
    ("GET", "/sessions/{id}/events", events.session_events),
    ("POST", "/sessions/{id}/messages", messages.send_message),
    ("GET", "/sessions/{id}/messages/{message_id}", messages.get_message),
    ("GET", "/sessions/{id}/messages/{message_id}/media", sync.get_media),
    ("GET", "/sessions/{id}/outbox", messages.list_outbox),
    ("POST", "/sessions/{id}/outbox/resume", messages.resume_outbox),
    ("GET", "/sessions/{id}/chats", chats.list_chats),
    ("GET", "/sessions/{id}/chats/{jid}/messages", chats.list_messages),
    ("POST", "/sessions/{id}/chats/{jid}/read", chats.mark_read),
    ("POST", "/sessions/{id}/chats/{jid}/history", sync.request_history),
    ("POST", "/sessions/{id}/chats/{jid}/archive", sync.archive_chat),
    ("POST", "/sessions/{id}/chats/{jid}/pin", chat_actions.pin_chat),
    ("POST", "/sessions/{id}/chats/{jid}/mute", chat_actions.mute_chat),
    ("POST", "/sessions/{id}/messages/{message_id}/star", chat_actions.star_message),
    ("GET", "/sessions/{id}/groups", groups.list_groups),
    ("POST", "/sessions/{id}/groups", groups.create_group),
    ("POST", "/sessions/{id}/groups/join", groups.join_group),
    ("POST", "/sessions/{id}/groups/sync", groups.sync_groups),
    ("GET", "/sessions/{id}/groups/{jid}", groups.get_group),
    ("PATCH", "/sessions/{id}/groups/{jid}", groups.update_group),
    ("POST", "/sessions/{id}/groups/{jid}/participants", groups.add_participants),
    ("DELETE", "/sessions/{id}/groups/{jid}/participants", groups.remove_participants),
    ("POST", "/sessions/{id}/groups/{jid}/admins", groups.change_admins),
    ("POST", "/sessions/{id}/groups/{jid}/leave", groups.leave_group),
    ("GET", "/sessions/{id}/groups/{jid}/invite", groups.get_invite),
    ("DELETE", "/sessions/{id}/groups/{jid}/invite", groups.revoke_invite),
    ("GET", "/sessions/{id}/contacts", contacts.list_contacts),
    ("POST", "/sessions/{id}/contacts/check", contacts.check_numbers),
    ("GET", "/sessions/{id}/contacts/{jid}/picture", contacts.get_picture),
    ("POST", "/sessions/{id}/contacts/{jid}/subscribe", contacts.subscribe_presence),
    ("GET", "/sessions/{id}/lids/{jid}", contacts.get_lid),
    ("POST", "/sessions/{id}/presence", contacts.set_presence),
    ("POST", "/sessions/{id}/chats/{jid}/presence", contacts.send_chat_presence),
    ("GET", "/sessions/{id}/webhooks", webhooks.list_session_webhooks),
    ("POST", "/sessions/{id}/webhooks", webhooks.create_session_webhook),
    ("GET", "/webhooks", webhooks.list_webhooks),
    ("POST", "/webhooks", webhooks.create_global_webhook),
    ("GET", "/webhooks/{webhook_id}", webhooks.get_webhook),
    ("PATCH", "/webhooks/{webhook_id}", webhooks.update_webhook),
    ("DELETE", "/webhooks/{webhook_id}", webhooks.delete_webhook),
    ("GET", "/webhooks/{webhook_id}/deliveries", webhooks.list_deliveries),
    ("POST", "/webhooks/{webhook_id}/deliveries/replay", webhooks.replay_deliveries),
    *campaigns.ROUTES,
]


GROUP_PATH = "/sessions/{id}/groups/{jid}"
GROUP_PATH_ROUTED = "/sessions/{id}/groups/{jid:(?!(?:join|sync)$)[^{}/]+}"
"""A group's {jid} is never 'join' or 'sync': those are POST routes of their own, so another
method there is a 405 that allows POST, not a lookup of a group called 'join'."""


HOT_ROUTES = frozenset({("POST", "/sessions/{id}/messages")})
"""Added to the router first. aiohttp tries the resources under one path prefix (all of
``/sessions/...``) in the order they were added, a regular expression each: the send route,
the one a CRM calls most, would come after a dozen others. No two paths of the table match
the same URL (``tests/unit/http_api/test_http_api_routes.py``), so the order changes nothing
else."""


def setup_routes(app: web.Application) -> None:
    hot_first = sorted(ROUTES, key=lambda route: (route[0], route[1]) not in HOT_ROUTES)
    for method, path, handler in hot_first:
        app.router.add_route(method, path.replace(GROUP_PATH, GROUP_PATH_ROUTED), handler)


__all__ = ["HOT_ROUTES", "ROUTES", "setup_routes"]
