-- Migration 0002: app-state patches and records per account and collection, media expiry,
-- and server-wide sandbox settings.
--
-- The server keeps what WhatsApp's keeps: the encrypted patches of each collection in version
-- order (it cannot read them), and the live records they leave behind, keyed by index MAC, from
-- which it builds snapshots. A patch row may carry a tamper mark: it is then served with one MAC
-- corrupted (fault injection), while the stored bytes stay genuine.

CREATE TABLE app_state_collections (
    phone_user TEXT    NOT NULL REFERENCES accounts(phone_user) ON DELETE CASCADE,
    collection TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 0),
    PRIMARY KEY (phone_user, collection)
) STRICT, WITHOUT ROWID;

CREATE TABLE app_state_patches (
    phone_user TEXT    NOT NULL,
    collection TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version > 0),
    patch      BLOB    NOT NULL,
    device_id  INTEGER NOT NULL,
    tamper     TEXT    CHECK (tamper IS NULL OR tamper IN ('value', 'index', 'patch', 'snapshot')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (phone_user, collection, version),
    FOREIGN KEY (phone_user, collection)
        REFERENCES app_state_collections(phone_user, collection) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE app_state_records (
    phone_user TEXT    NOT NULL,
    collection TEXT    NOT NULL,
    index_mac  BLOB    NOT NULL,
    record     BLOB    NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (phone_user, collection, index_mac),
    FOREIGN KEY (phone_user, collection)
        REFERENCES app_state_collections(phone_user, collection) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- NULL: the blob is served; 404 or 410: downloads are refused with that status (media expiry).
ALTER TABLE media_blobs ADD COLUMN expired_status INTEGER
    CHECK (expired_status IS NULL OR expired_status IN (404, 410));

CREATE TABLE sandbox_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
