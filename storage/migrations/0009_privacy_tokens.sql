-- Migration 0009: privacy tokens (the service's 2026 rules for 1:1 messages).
--
-- ``privacy_tokens``: per contact (its LID when known, as whatsmeow and Baileys key them), the
-- trusted-contact token the contact issued to us (``token``, issued at ``token_at``), attached
-- as ``tctoken`` to our messages to them; and ``sender_at``, when we last issued ours to them
-- (one issuance per 7-day bucket). Times are unix seconds here: they are the service's bucket
-- arithmetic, not our own event times.
-- ``privacy_salts``: the account's NCT salt (history sync / app state), the key of the
-- ``cstoken`` a first message to a new contact carries.

CREATE TABLE privacy_tokens (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    jid        TEXT    NOT NULL,
    token      BLOB,
    token_at   INTEGER NOT NULL DEFAULT 0,
    sender_at  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, jid)
) STRICT, WITHOUT ROWID;

CREATE TABLE privacy_salts (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    nct_salt   BLOB NOT NULL CHECK (length(nct_salt) > 0)
) STRICT, WITHOUT ROWID;
