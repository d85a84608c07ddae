-- Migration 0007: message secrets. A message that others act on with their own encrypted
-- messages (a poll and its votes, an event and its responses, reactions under "secret
-- reactions") carries a 32-byte ``messageSecret``; the history sync hands over the secrets of
-- old messages beside them (WebMessageInfo.messageSecret; whatsmeow stores them the same way).
-- Keyed like messages by (chat, sender, message id), canonical JIDs, so the message row need not
-- exist (a chunk filtered by ``history_days`` still keeps its secrets).
--
-- Conventions as in 0001 (unix-millisecond INTEGER times, STRICT tables, every table cascades
-- from sessions).

CREATE TABLE message_secrets (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    chat_jid   TEXT    NOT NULL,
    sender_jid TEXT    NOT NULL,
    message_id TEXT    NOT NULL CHECK (message_id <> ''),
    secret     BLOB    NOT NULL CHECK (length(secret) > 0),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, chat_jid, sender_jid, message_id)
) STRICT, WITHOUT ROWID;
