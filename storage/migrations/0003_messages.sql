-- Migration 0003: messaging — messages, per-recipient receipts, chats, contacts, groups and
-- their participants, the sender-key memory, and the plaintexts kept to answer retry receipts.
--
-- Conventions as in 0001 (unix-millisecond INTEGER times, STRICT tables, 0/1 booleans, every
-- table cascades from sessions). JIDs are stored in their string form. A chat or a sender is
-- stored under its phone-number JID when the phone number is known, else under its LID; the
-- contacts table holds both.

-- One row per message (incoming, sent by us, or sent from one of our other devices). The key a
-- redelivery is recognised by is (chat, sender, message id): WhatsApp ids are chosen by the
-- sender's device. ``id`` is a local, stable row number (cursor pagination).
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    session_id    TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    chat_jid      TEXT    NOT NULL CHECK (chat_jid <> ''),
    message_id    TEXT    NOT NULL CHECK (length(message_id) BETWEEN 1 AND 128),
    sender_jid    TEXT    NOT NULL CHECK (sender_jid <> ''),
    -- The device it came from (incoming) or NULL (our own sends).
    sender_device TEXT,
    from_me       INTEGER NOT NULL CHECK (from_me IN (0, 1)),
    -- The sender's (server) timestamp.
    sent_at       INTEGER NOT NULL,
    content_type  TEXT    NOT NULL,
    text          TEXT,
    quoted_id     TEXT,
    -- The message a reaction, edit or revoke refers to.
    target_id     TEXT,
    -- No CHECK on status names: a new status must not need a table rebuild.
    status        TEXT    NOT NULL,
    -- The serialized E2E Message protobuf (NULL while undecryptable).
    payload       BLOB,
    push_name     TEXT,
    edited_at     INTEGER,
    revoked_at    INTEGER,
    -- Retry receipts sent for it while it could not be decrypted.
    retry_count   INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (session_id, chat_jid, sender_jid, message_id)
) STRICT;

CREATE INDEX messages_chat_time ON messages (session_id, chat_jid, sent_at, id);
CREATE INDEX messages_by_id ON messages (session_id, message_id);
CREATE INDEX messages_by_target ON messages (session_id, target_id) WHERE target_id IS NOT NULL;

-- Per recipient device: how far one of our messages got there.
CREATE TABLE message_receipts (
    session_id    TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    chat_jid      TEXT    NOT NULL,
    message_id    TEXT    NOT NULL,
    recipient_jid TEXT    NOT NULL CHECK (recipient_jid <> ''),
    status        TEXT    NOT NULL,
    delivered_at  INTEGER,
    read_at       INTEGER,
    played_at     INTEGER,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (session_id, chat_jid, message_id, recipient_jid)
) STRICT, WITHOUT ROWID;

-- The chat list: last message preview and time, unread count.
CREATE TABLE chats (
    session_id      TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    jid             TEXT    NOT NULL CHECK (jid <> ''),
    kind            TEXT    NOT NULL CHECK (kind IN ('user', 'group', 'broadcast', 'other')),
    name            TEXT,
    last_message_id TEXT,
    last_sender_jid TEXT,
    last_from_me    INTEGER CHECK (last_from_me IN (0, 1)),
    last_preview    TEXT,
    last_message_at INTEGER,
    unread_count    INTEGER NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (session_id, jid)
) STRICT, WITHOUT ROWID;

CREATE INDEX chats_recent ON chats (session_id, last_message_at DESC, jid);

-- One model of a contact (ARCHITECTURE principle 8): phone-number JID and LID together.
CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    pn_jid     TEXT    CHECK (pn_jid IS NULL OR pn_jid LIKE '%@s.whatsapp.net'),
    lid_jid    TEXT    CHECK (lid_jid IS NULL OR lid_jid LIKE '%@lid'),
    push_name  TEXT,
    updated_at INTEGER NOT NULL,
    CHECK (pn_jid IS NOT NULL OR lid_jid IS NOT NULL)
) STRICT;

CREATE UNIQUE INDEX contacts_pn ON contacts (session_id, pn_jid) WHERE pn_jid IS NOT NULL;
CREATE UNIQUE INDEX contacts_lid ON contacts (session_id, lid_jid) WHERE lid_jid IS NOT NULL;

-- Groups by JID. A group we are no longer a member of stays, read-only.
CREATE TABLE groups (
    session_id      TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    jid             TEXT    NOT NULL CHECK (jid LIKE '%@g.us'),
    subject         TEXT    NOT NULL DEFAULT '',
    owner_jid       TEXT,
    addressing_mode TEXT    NOT NULL DEFAULT 'pn' CHECK (addressing_mode IN ('pn', 'lid')),
    is_member       INTEGER NOT NULL DEFAULT 1 CHECK (is_member IN (0, 1)),
    created_at      INTEGER,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (session_id, jid)
) STRICT, WITHOUT ROWID;

-- In the order the server listed them (rowid order).
CREATE TABLE group_participants (
    session_id      TEXT    NOT NULL,
    group_jid       TEXT    NOT NULL,
    participant_jid TEXT    NOT NULL CHECK (participant_jid <> ''),
    lid_jid         TEXT,
    role            TEXT    NOT NULL CHECK (role IN ('member', 'admin', 'superadmin')),
    PRIMARY KEY (session_id, group_jid, participant_jid),
    FOREIGN KEY (session_id, group_jid) REFERENCES groups (session_id, jid) ON DELETE CASCADE
) STRICT;

-- Which devices hold our current sender key for a group (the SKDM went to them). Emptied when
-- the key is replaced (a member left), so everyone gets the new one with the next message.
CREATE TABLE sender_key_memory (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    group_jid  TEXT    NOT NULL,
    device     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, group_jid, device)
) STRICT, WITHOUT ROWID;

-- What we sent, kept for a bounded window to answer retry receipts across restarts.
CREATE TABLE outgoing_plaintexts (
    session_id   TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    message_id   TEXT    NOT NULL,
    chat_jid     TEXT    NOT NULL,
    message_type TEXT    NOT NULL,
    edit         TEXT,
    payload      BLOB    NOT NULL,
    -- The server's timestamp once acked, else the time we sent it.
    sent_at      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (session_id, message_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX outgoing_plaintexts_age ON outgoing_plaintexts (session_id, created_at);

-- Retry receipts answered, per message and requesting device (to refuse excessive ones).
CREATE TABLE outgoing_retries (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    message_id TEXT    NOT NULL,
    device     TEXT    NOT NULL,
    count      INTEGER NOT NULL CHECK (count >= 1),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, message_id, device)
) STRICT, WITHOUT ROWID;
