-- Migration 0004: history sync, app-state sync and media: chat settings, stars, contact names,
-- labels, per-collection app-state state (version, LTHash, index -> value MAC table), history
-- chunks processed, downloaded media files (content-addressed) and the media of each message.
--
-- Conventions as in 0001 (unix-millisecond INTEGER times, STRICT tables, 0/1 booleans, every
-- table cascades from sessions).

-- Chat settings that app state (archive, pin, mute, mark read/unread) and the history sync's
-- conversation list carry. ``muted_until`` is the unix millisecond the mute ends, -1 while the
-- chat is muted with no end (WhatsApp's "forever"), NULL when it is not muted. ``settings_at``
-- is the time of the newest app-state action applied to the chat: once one has, the older
-- view of a history sync no longer changes these columns.
ALTER TABLE chats ADD COLUMN archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1));
ALTER TABLE chats ADD COLUMN pinned_at INTEGER;
ALTER TABLE chats ADD COLUMN muted_until INTEGER;
ALTER TABLE chats ADD COLUMN marked_unread INTEGER NOT NULL DEFAULT 0
    CHECK (marked_unread IN (0, 1));
ALTER TABLE chats ADD COLUMN settings_at INTEGER;

-- ["star", chat, id, fromMe, participant] in app state.
ALTER TABLE messages ADD COLUMN starred INTEGER NOT NULL DEFAULT 0 CHECK (starred IN (0, 1));

-- The address-book name from app state (["contact", jid]); push_name stays what the person
-- announced about themselves.
ALTER TABLE contacts ADD COLUMN full_name TEXT;
ALTER TABLE contacts ADD COLUMN first_name TEXT;

-- Labels (["label_edit", id]) and which chats carry them (["label_jid", id, chat]).
CREATE TABLE labels (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    label_id   TEXT    NOT NULL CHECK (label_id <> ''),
    name       TEXT    NOT NULL,
    color      INTEGER NOT NULL DEFAULT 0,
    deleted    INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, label_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE chat_labels (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    label_id   TEXT NOT NULL,
    chat_jid   TEXT NOT NULL CHECK (chat_jid <> ''),
    PRIMARY KEY (session_id, label_id, chat_jid)
) STRICT, WITHOUT ROWID;

-- One row per app-state collection this device has synced. ``hash`` is the LTHash of the
-- value MACs of every live record; ``status`` is 'ok', 'failed' (a MAC or decode error: nothing
-- of the refused patch was applied; ``last_error`` says what) or 'missing_key' (a patch names
-- a sync key the phone has not shared yet).
CREATE TABLE app_state_collections (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL CHECK (name IN ('critical_block', 'critical_unblock_low',
                                                'regular_high', 'regular', 'regular_low')),
    version    INTEGER NOT NULL CHECK (version >= 0),
    hash       BLOB    NOT NULL CHECK (length(hash) = 128),
    status     TEXT    NOT NULL,
    last_error TEXT,
    synced_at  INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, name)
) STRICT, WITHOUT ROWID;

-- index MAC -> value MAC of every live record: needed to take a record's old value MAC out of
-- the LTHash when a later patch overwrites or removes it.
CREATE TABLE app_state_macs (
    session_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    index_mac  BLOB NOT NULL CHECK (length(index_mac) = 32),
    value_mac  BLOB NOT NULL CHECK (length(value_mac) = 32),
    PRIMARY KEY (session_id, collection, index_mac),
    FOREIGN KEY (session_id, collection)
        REFERENCES app_state_collections (session_id, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- History sync notifications, by the id of the peer message that carried them. A row is
-- 'pending' while its chunk is downloaded and ingested (a restart resumes it), then 'done',
-- 'skipped' (full history off, or a type we do not ingest) or 'failed' with the reason.
CREATE TABLE history_chunks (
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    message_id  TEXT    NOT NULL CHECK (message_id <> ''),
    sync_type   TEXT    NOT NULL,
    chunk_order INTEGER NOT NULL DEFAULT 0,
    progress    INTEGER,
    status      TEXT    NOT NULL,
    -- Messages the chunk held, and how many of them were new rows.
    messages    INTEGER NOT NULL DEFAULT 0 CHECK (messages >= 0),
    stored      INTEGER NOT NULL DEFAULT 0 CHECK (stored >= 0),
    error       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (session_id, message_id)
) STRICT, WITHOUT ROWID;

-- Downloaded (or sent) files, one per plaintext SHA-256: the file lives once on disk at
-- ``path`` (relative to the media directory), however many messages carry it.
CREATE TABLE media_files (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    sha256     BLOB    NOT NULL CHECK (length(sha256) = 32),
    path       TEXT    NOT NULL CHECK (path <> ''),
    size       INTEGER NOT NULL CHECK (size >= 0),
    mimetype   TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, sha256)
) STRICT, WITHOUT ROWID;

-- The file of one media message and where getting it stands: 'downloaded' (``sha256`` names
-- the media_files row), 'expired' (the media host answered 404/410), 'retry_requested' (the
-- phone was asked to upload it again), 'unavailable' (the phone does not have it either) or
-- 'failed' (``error`` says why). ``direct_path`` is the newest one (a media retry gives a new
-- one; the message's own copy is left as it was received).
CREATE TABLE message_media (
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    chat_jid    TEXT    NOT NULL,
    sender_jid  TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    sha256      BLOB,
    direct_path TEXT,
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (session_id, chat_jid, sender_jid, message_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX message_media_by_file ON message_media (session_id, sha256) WHERE sha256 IS NOT NULL;
