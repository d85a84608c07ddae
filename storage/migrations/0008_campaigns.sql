-- Migration 0008: campaigns — one message to many recipients, paced, tracked per recipient.
--
-- Conventions as in 0001 (unix-millisecond INTEGER times, STRICT tables). A campaign belongs to
-- a session and goes with it. Every recipient is dispatched through the outbox under the
-- idempotency key ``campaign:<campaign id>:<recipient id>``, and its ``message_id`` is the
-- outbox row's id, so a recipient follows its message's status.

CREATE TABLE campaigns (
    id               TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    session_id       TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    -- The message as JSON ({"type": "text", "text": "Hello {{name}}"}).
    content          TEXT    NOT NULL,
    -- Values of template variables used when a recipient gives none (JSON object).
    defaults         TEXT    NOT NULL DEFAULT '{}',
    -- No CHECK on status names: a new status must not need a table rebuild.
    status           TEXT    NOT NULL,
    -- Why the campaign is paused or failed (NULL otherwise).
    status_reason    TEXT,
    rate_per_minute  INTEGER NOT NULL CHECK (rate_per_minute >= 1),
    jitter_ms        INTEGER NOT NULL DEFAULT 0 CHECK (jitter_ms >= 0),
    -- The daily sending window: minutes after local midnight in ``time_zone`` (all or none).
    window_start     INTEGER CHECK (window_start BETWEEN 0 AND 1439),
    window_end       INTEGER CHECK (window_end BETWEEN 0 AND 1439),
    time_zone        TEXT,
    scheduled_at     INTEGER,
    -- The pacer's state: the earliest time the next recipient may be dispatched.
    next_send_at     INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    CHECK ((window_start IS NULL) = (window_end IS NULL)
           AND (window_start IS NULL) = (time_zone IS NULL))
) STRICT;

CREATE INDEX campaigns_session ON campaigns (session_id, created_at);
CREATE INDEX campaigns_active ON campaigns (status) WHERE status IN ('scheduled', 'processing');

-- ``id`` orders the recipients (dispatch order and the page cursor).
CREATE TABLE campaign_recipients (
    id           INTEGER PRIMARY KEY,
    campaign_id  TEXT    NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    jid          TEXT    NOT NULL CHECK (jid <> ''),
    -- Template variables of this recipient (JSON object) or NULL.
    variables    TEXT,
    status       TEXT    NOT NULL,
    message_id   TEXT,
    error        TEXT,
    queued_at    INTEGER,
    -- When the recipient left ``queued`` (its message sent or failed): the pacer's evidence.
    settled_at   INTEGER,
    sent_at      INTEGER,
    delivered_at INTEGER,
    read_at      INTEGER,
    updated_at   INTEGER NOT NULL,
    UNIQUE (campaign_id, jid)
) STRICT;

CREATE INDEX campaign_recipients_status ON campaign_recipients (campaign_id, status, id);
CREATE INDEX campaign_recipients_message ON campaign_recipients (message_id)
    WHERE message_id IS NOT NULL;
