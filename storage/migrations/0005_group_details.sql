-- Migration 0005: what a CRM needs to know about a group beyond its members: description,
-- the announce ("only admins send") and locked ("only admins edit") settings, whether we are an
-- admin (with announce, that decides whether we may send), and when the server last gave us
-- the whole metadata.
--
-- Conventions as in 0001 (unix-millisecond INTEGER times, STRICT tables, 0/1 booleans).

ALTER TABLE groups ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE groups ADD COLUMN announce INTEGER NOT NULL DEFAULT 0 CHECK (announce IN (0, 1));
ALTER TABLE groups ADD COLUMN locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1));
ALTER TABLE groups ADD COLUMN own_admin INTEGER NOT NULL DEFAULT 0 CHECK (own_admin IN (0, 1));
ALTER TABLE groups ADD COLUMN last_synced_at INTEGER;

CREATE INDEX groups_member ON groups (session_id, is_member, jid);
