-- Migration 0002: the daemon's tables: event log, outbox, webhooks and deliveries, API keys.
--
-- Conventions as in 0001 (unix-millisecond INTEGER times, STRICT tables, 0/1 booleans).
-- The event log deliberately has no foreign key to sessions: a session's events (its deletion
-- included) outlive it until retention removes them, so a consumer can still read them.

-- Every event any session produced, in one append-only log (ARCHITECTURE principle 5).
-- ``position`` orders all events (the cursor of global consumers: the webhook dispatcher);
-- ``seq`` orders one session's events (the cursor of the SSE/WebSocket stream). AUTOINCREMENT
-- so a position is never handed out twice, even after retention emptied the table.
CREATE TABLE event_log (
    position   INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 64),
    session_id TEXT    NOT NULL CHECK (length(session_id) BETWEEN 1 AND 128),
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    type       TEXT    NOT NULL CHECK (type <> ''),
    -- A JSON object.
    data       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (session_id, seq)
) STRICT;

-- The manager reads a session's recent recoveries at start (the hourly limit survives restarts);
-- a partial index keeps that cheap without slowing down every other append.
CREATE INDEX event_log_recoveries ON event_log (session_id, seq)
    WHERE type = 'session.recovery';

CREATE TRIGGER event_log_no_update
BEFORE UPDATE ON event_log
BEGIN
    SELECT RAISE(ABORT, 'event_log is append-only');
END;

-- The last sequence number handed out per session id. Kept when the session is deleted, so a
-- session re-created under the same id continues the numbering and a stale cursor never skips
-- the new session's events.
CREATE TABLE event_sequences (
    session_id TEXT    PRIMARY KEY,
    last_seq   INTEGER NOT NULL CHECK (last_seq >= 1)
) STRICT, WITHOUT ROWID;

-- Named positions of consumers that read the whole log (the webhook dispatcher).
CREATE TABLE daemon_cursors (
    name     TEXT    PRIMARY KEY,
    position INTEGER NOT NULL CHECK (position >= 0)
) STRICT, WITHOUT ROWID;

-- Sends: a row first, then attempts (ARCHITECTURE principle 4). ``id`` is the WhatsApp
-- message id, chosen when the row is written, so every attempt re-sends the same message and
-- recipients recognise a repeat. Rows are sent per session in rowid order.
CREATE TABLE outbox (
    id               TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    session_id       TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    idempotency_key  TEXT    CHECK (idempotency_key IS NULL
                                    OR length(idempotency_key) BETWEEN 1 AND 255),
    -- SHA-256 of the canonical request: the same key with another body is refused.
    request_hash     BLOB    NOT NULL CHECK (length(request_hash) = 32),
    chat_jid         TEXT    NOT NULL CHECK (chat_jid <> ''),
    kind             TEXT    NOT NULL,
    -- The request as JSON (kind-specific fields).
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    sent_at          INTEGER,
    server_timestamp INTEGER,
    -- Attempts whose outcome a crash left unknown and that were therefore sent again.
    uncertain_sends  INTEGER NOT NULL DEFAULT 0 CHECK (uncertain_sends >= 0)
) STRICT;

CREATE UNIQUE INDEX outbox_idempotency ON outbox (session_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX outbox_open ON outbox (session_id, status) WHERE status IN ('pending', 'sending');

-- Sending paused for a session after the server signalled a restriction (429, 463...).
CREATE TABLE outbox_pauses (
    session_id TEXT    PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    until      INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Webhook subscriptions: per session, or global (session_id NULL).
CREATE TABLE webhooks (
    id         TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    session_id TEXT    REFERENCES sessions (id) ON DELETE CASCADE,
    url        TEXT    NOT NULL CHECK (url LIKE 'http://%' OR url LIKE 'https://%'),
    secret     TEXT    NOT NULL CHECK (length(secret) >= 16),
    -- JSON array of event types; empty means every type.
    events     TEXT    NOT NULL DEFAULT '[]',
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX webhooks_session ON webhooks (session_id);

-- One row per (webhook, event): pending until a 2xx, dead after the attempts ran out or a
-- response that retrying cannot change; dead rows can be replayed.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    webhook_id       TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_position   INTEGER NOT NULL REFERENCES event_log (position) ON DELETE CASCADE,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  INTEGER NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    UNIQUE (webhook_id, event_position)
) STRICT;

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_status ON webhook_deliveries (webhook_id, status, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_position);

-- Per-session API keys. The key string is ``wamd_<id>_<secret>``; only SHA-256(secret) is
-- stored, and it is compared in constant time.
CREATE TABLE api_keys (
    id           TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 8 AND 64),
    session_id   TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    secret_hash  BLOB    NOT NULL CHECK (length(secret_hash) = 32),
    label        TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX api_keys_session ON api_keys (session_id);
