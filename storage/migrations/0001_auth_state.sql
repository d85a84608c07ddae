-- Migration 0001: per-session auth state — sessions and their status history, device
-- credentials, one-time prekeys, Signal sessions, peer identities, sender keys, app-state keys.
--
-- Conventions for every table in this database:
--   * times are INTEGER unix milliseconds (UTC);
--   * booleans are INTEGER 0/1 with a CHECK;
--   * tables are STRICT, so a BLOB column can never silently hold TEXT or a number;
--   * every per-session table references sessions(id) ON DELETE CASCADE: deleting a session
--     removes all of its state in one statement;
--   * tables whose rows carry large records (Signal sessions, sender keys) keep a rowid; small
--     fixed-size rows are WITHOUT ROWID.
-- Messages, the outbox and the event log come in later migrations.

CREATE TABLE sessions (
    id                TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
    name              TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    auto_connect      INTEGER NOT NULL DEFAULT 1 CHECK (auto_connect IN (0, 1)),
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    -- No CHECK on the status names: a new state must not need a table rebuild. Storage
    -- validates them when it reads a row.
    status            TEXT    NOT NULL,
    status_reason     TEXT    NOT NULL,
    status_changed_at INTEGER NOT NULL,
    last_error        TEXT,
    last_connected_at INTEGER,
    last_message_at   INTEGER,
    last_status_check INTEGER
) STRICT;

-- Every status change of a session, in order, with its reason (ARCHITECTURE principle 2).
CREATE TABLE session_transitions (
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (session_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER session_transitions_no_update
BEFORE UPDATE ON session_transitions
BEGIN
    SELECT RAISE(ABORT, 'session_transitions is append-only');
END;

-- Rows go away only with their session (the cascade runs after the session row is gone).
CREATE TRIGGER session_transitions_no_delete
BEFORE DELETE ON session_transitions
WHEN EXISTS (SELECT 1 FROM sessions WHERE id = OLD.session_id)
BEGIN
    SELECT RAISE(ABORT, 'session_transitions is append-only');
END;

-- The device identity. At most one live (retired = 0) row per session; retired rows stay for
-- forensics, and their keys can never be saved again (unique public keys across all rows).
CREATE TABLE device_credentials (
    id                      INTEGER PRIMARY KEY,
    session_id              TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    noise_private           BLOB    NOT NULL CHECK (length(noise_private) = 32),
    noise_public            BLOB    NOT NULL CHECK (length(noise_public) = 32),
    identity_private        BLOB    NOT NULL CHECK (length(identity_private) = 32),
    identity_public         BLOB    NOT NULL CHECK (length(identity_public) = 32),
    -- Sent as 4 bytes big-endian.
    registration_id         INTEGER NOT NULL CHECK (registration_id BETWEEN 0 AND 4294967295),
    -- Prekey ids are sent as 3 bytes big-endian.
    signed_prekey_id        INTEGER NOT NULL CHECK (signed_prekey_id BETWEEN 0 AND 16777215),
    signed_prekey_private   BLOB    NOT NULL CHECK (length(signed_prekey_private) = 32),
    signed_prekey_public    BLOB    NOT NULL CHECK (length(signed_prekey_public) = 32),
    signed_prekey_signature BLOB    NOT NULL CHECK (length(signed_prekey_signature) = 64),
    adv_secret              BLOB    NOT NULL CHECK (length(adv_secret) = 32),
    -- ADVSignedDeviceIdentity protobuf, known once the phone has paired us.
    signed_device_identity  BLOB,
    pn_jid                  TEXT,
    lid_jid                 TEXT,
    platform                TEXT,
    push_name               TEXT,
    next_prekey_id          INTEGER NOT NULL DEFAULT 1
                            CHECK (next_prekey_id BETWEEN 1 AND 16777216),
    server_has_prekeys      INTEGER NOT NULL DEFAULT 0 CHECK (server_has_prekeys IN (0, 1)),
    created_at              INTEGER NOT NULL,
    paired_at               INTEGER,
    retired                 INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
    retired_reason          TEXT,
    logged_out_at           INTEGER,
    CHECK (paired_at IS NULL OR (signed_device_identity IS NOT NULL AND pn_jid IS NOT NULL)),
    CHECK ((retired = 1) = (logged_out_at IS NOT NULL))
) STRICT;

CREATE UNIQUE INDEX device_credentials_live ON device_credentials (session_id) WHERE retired = 0;
CREATE INDEX device_credentials_session ON device_credentials (session_id);
CREATE UNIQUE INDEX device_credentials_identity ON device_credentials (identity_public);
CREATE UNIQUE INDEX device_credentials_noise ON device_credentials (noise_public);

CREATE TABLE prekeys (
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    key_id      INTEGER NOT NULL CHECK (key_id BETWEEN 1 AND 16777215),
    private_key BLOB    NOT NULL CHECK (length(private_key) = 32),
    public_key  BLOB    NOT NULL CHECK (length(public_key) = 32),
    uploaded    INTEGER NOT NULL DEFAULT 0 CHECK (uploaded IN (0, 1)),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (session_id, key_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX prekeys_not_uploaded ON prekeys (session_id, key_id) WHERE uploaded = 0;

-- Signal sessions by protocol address ('<user>.<device>' or '<user>:<device>').
CREATE TABLE signal_sessions (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    address    TEXT    NOT NULL CHECK (address <> ''),
    record     BLOB    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, address)
) STRICT;

-- Peer identity keys as received: 32 bytes, or 33 with the 0x05 type prefix.
CREATE TABLE signal_identities (
    session_id   TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    address      TEXT    NOT NULL CHECK (address <> ''),
    identity_key BLOB    NOT NULL CHECK (
        length(identity_key) = 32
        OR (length(identity_key) = 33 AND substr(identity_key, 1, 1) = x'05')
    ),
    first_seen   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    trusted      INTEGER NOT NULL DEFAULT 1 CHECK (trusted IN (0, 1)),
    PRIMARY KEY (session_id, address)
) STRICT, WITHOUT ROWID;

CREATE TABLE sender_keys (
    session_id     TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    group_id       TEXT    NOT NULL CHECK (group_id <> ''),
    sender_address TEXT    NOT NULL CHECK (sender_address <> ''),
    record         BLOB    NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (session_id, group_id, sender_address)
) STRICT;

CREATE TABLE app_state_sync_keys (
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    key_id      BLOB    NOT NULL CHECK (length(key_id) > 0),
    key_data    BLOB    NOT NULL CHECK (length(key_data) > 0),
    fingerprint BLOB    NOT NULL,
    -- The phone's timestamp for the key, in milliseconds.
    timestamp   INTEGER NOT NULL,
    PRIMARY KEY (session_id, key_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX app_state_sync_keys_latest ON app_state_sync_keys (session_id, timestamp);
