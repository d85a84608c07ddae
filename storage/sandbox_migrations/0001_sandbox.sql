-- Migration 0001: the sandbox's simulated network — accounts, devices, prekeys, the offline
-- queue, groups, media blobs and the simulated phones' own key-value state.
--
-- Conventions: times are INTEGER unix seconds; booleans INTEGER 0/1; tables STRICT. JIDs are
-- stored in their string form. Everything of one account goes when the account goes.

CREATE TABLE accounts (
    phone_user       TEXT    PRIMARY KEY,
    lid_user         TEXT    NOT NULL UNIQUE,
    push_name        TEXT    NOT NULL,
    identity_private BLOB    NOT NULL CHECK (length(identity_private) = 32),
    registration_id  INTEGER NOT NULL,
    next_key_index   INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE devices (
    phone_user      TEXT    NOT NULL REFERENCES accounts(phone_user) ON DELETE CASCADE,
    device_id       INTEGER NOT NULL CHECK (device_id BETWEEN 0 AND 255),
    identity_public BLOB    NOT NULL CHECK (length(identity_public) = 32),
    registration_id INTEGER NOT NULL,
    noise_public    BLOB    CHECK (noise_public IS NULL OR length(noise_public) = 32),
    spk_id          INTEGER,
    spk_public      BLOB,
    spk_signature   BLOB,
    key_index       INTEGER NOT NULL,
    platform        TEXT    NOT NULL,
    push_name       TEXT    NOT NULL,
    adv_identity    BLOB    NOT NULL,
    logged_out      INTEGER NOT NULL CHECK (logged_out IN (0, 1)),
    created_at      INTEGER NOT NULL,
    last_login_at   INTEGER NOT NULL,
    PRIMARY KEY (phone_user, device_id)
) STRICT;

CREATE UNIQUE INDEX devices_noise_public ON devices(noise_public) WHERE noise_public IS NOT NULL;

CREATE TABLE prekeys (
    phone_user TEXT    NOT NULL,
    device_id  INTEGER NOT NULL,
    key_id     INTEGER NOT NULL,
    public     BLOB    NOT NULL CHECK (length(public) = 32),
    PRIMARY KEY (phone_user, device_id, key_id),
    FOREIGN KEY (phone_user, device_id) REFERENCES devices(phone_user, device_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Stanzas waiting for a device: queued while it was offline, or sent and not yet acked.
CREATE TABLE offline_queue (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    device      TEXT    NOT NULL,
    class       TEXT    NOT NULL,
    stanza_id   TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    enqueued_at INTEGER NOT NULL
) STRICT;

CREATE INDEX offline_queue_device ON offline_queue(device, seq);
CREATE INDEX offline_queue_ack ON offline_queue(device, class, stanza_id);

CREATE TABLE groups (
    group_user    TEXT    PRIMARY KEY,
    subject       TEXT    NOT NULL,
    subject_owner TEXT    NOT NULL,
    subject_time  INTEGER NOT NULL,
    creator       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    description   TEXT    NOT NULL,
    description_id TEXT   NOT NULL,
    announce      INTEGER NOT NULL CHECK (announce IN (0, 1)),
    locked        INTEGER NOT NULL CHECK (locked IN (0, 1)),
    ephemeral     INTEGER NOT NULL
) STRICT;

CREATE TABLE group_participants (
    group_user TEXT NOT NULL REFERENCES groups(group_user) ON DELETE CASCADE,
    phone_user TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('member', 'admin', 'superadmin')),
    position   INTEGER NOT NULL,
    PRIMARY KEY (group_user, phone_user)
) STRICT, WITHOUT ROWID;

CREATE TABLE media_blobs (
    blob_id    TEXT    PRIMARY KEY,
    mms_type   TEXT    NOT NULL,
    body       BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE phone_state (
    phone_user TEXT NOT NULL REFERENCES accounts(phone_user) ON DELETE CASCADE,
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    PRIMARY KEY (phone_user, namespace, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE blocklist (
    phone_user TEXT NOT NULL REFERENCES accounts(phone_user) ON DELETE CASCADE,
    blocked    TEXT NOT NULL,
    PRIMARY KEY (phone_user, blocked)
) STRICT, WITHOUT ROWID;
