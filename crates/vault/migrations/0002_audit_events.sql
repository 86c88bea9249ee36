-- Audit trail. No foreign keys: history outlives the vaults it mentions.
-- Never holds a token or a request body.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    environment   TEXT,
    vault_id      TEXT,
    credential_id TEXT,
    session_id    TEXT,
    upstream_url  TEXT,
    method        TEXT,
    status        INTEGER,
    detail        TEXT
) STRICT;

CREATE INDEX events_by_time ON events (at DESC, id DESC);
CREATE INDEX events_by_vault ON events (vault_id, at DESC);
