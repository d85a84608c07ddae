-- Migration 0006: session keys restricted to some chats ("group assignments": which employee
-- group may post where). A key with chats sees only those chats everywhere (chats, messages,
-- groups, events, webhooks) and sends only there, if at all (can_send). Who made the key is
-- kept with it. A webhook made with such a key carries the key's chats (copied, kept in step
-- when the key changes) so delivery can filter without a join.
--
-- Conventions as in 0001 (unix-millisecond INTEGER times, STRICT tables, 0/1 booleans).

ALTER TABLE api_keys ADD COLUMN chats TEXT;  -- JSON array of chat JIDs; NULL: every chat
ALTER TABLE api_keys ADD COLUMN can_send INTEGER NOT NULL DEFAULT 1 CHECK (can_send IN (0, 1));
ALTER TABLE api_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_keys ADD COLUMN updated_at INTEGER;

ALTER TABLE webhooks ADD COLUMN api_key_id TEXT REFERENCES api_keys (id) ON DELETE CASCADE;
ALTER TABLE webhooks ADD COLUMN chats TEXT;  -- the key's chats; NULL: every chat

CREATE INDEX webhooks_api_key ON webhooks (api_key_id) WHERE api_key_id IS NOT NULL;
