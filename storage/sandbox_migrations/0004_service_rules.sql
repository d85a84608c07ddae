-- Migration 0004: the service as it is in 2026 — per-account enforcement of LID-first DMs and
-- privacy tokens, each account's NCT salt (the key of its cstokens), and the trusted-contact
-- tokens accounts issued to each other.
--
-- An account without a rules row (made before this migration) is enforcing, with a salt made
-- on the next start: LID migration is the default, as on the real service.

CREATE TABLE account_rules (
    phone_user TEXT    PRIMARY KEY REFERENCES accounts(phone_user) ON DELETE CASCADE,
    enforcing  INTEGER NOT NULL CHECK (enforcing IN (0, 1)),
    nct_salt   BLOB    NOT NULL CHECK (length(nct_salt) = 32)
) STRICT, WITHOUT ROWID;

-- The token `issuer` gave `subject` (both phone users): `subject` attaches it as `tctoken` to
-- 1:1 messages to `issuer`. One current token per pair; `issued_at` is its bucket time.
CREATE TABLE privacy_tokens (
    issuer    TEXT    NOT NULL REFERENCES accounts(phone_user) ON DELETE CASCADE,
    subject   TEXT    NOT NULL,
    token     BLOB    NOT NULL,
    issued_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) STRICT, WITHOUT ROWID;
