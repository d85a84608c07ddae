-- Migration 0002: a fleet of daemons: members and the leases that give each session one owner
-- Times are the server's clock in epoch milliseconds (see storage/fleet_interfaces.py).

CREATE TABLE fleet_members (
    node_id      TEXT   PRIMARY KEY CHECK (length(node_id) BETWEEN 1 AND 128),
    url          TEXT   NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    leaving      BIGINT NOT NULL DEFAULT 0 CHECK (leaving IN (0, 1))
);

-- One row per resource ever leased: a session id, or 'role:<name>' for work one daemon of the
-- fleet does (webhook delivery). A released lease keeps its row (owner NULL) so its token keeps
-- growing: a token is never handed out twice for the same resource.
CREATE TABLE leases (
    resource    TEXT   PRIMARY KEY CHECK (length(resource) BETWEEN 1 AND 160),
    owner       TEXT,
    token       BIGINT NOT NULL CHECK (token >= 1),
    acquired_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX leases_by_owner ON leases (owner) WHERE owner IS NOT NULL;
