-- Credential kinds (docs/architecture.md, "A token's path"): besides a bearer
-- token, a credential may send headers of its own (`headers`), and later an
-- OAuth grant Keybearer refreshes (`mcp_oauth`). `type` says which sealed
-- form `sealed_token` holds; `header_names` lists the names of the headers
-- it sends (a JSON array; never a value), for the window and the CLI.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt
-- (copy, drop, rename) and its catalog triggers made again.
CREATE TABLE credentials_v7 (
    id             TEXT PRIMARY KEY,
    vault_id       TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    mcp_server_url TEXT NOT NULL,
    protocol       TEXT NOT NULL CHECK (protocol IN ('sse', 'streamable_http')),
    type           TEXT NOT NULL CHECK (type IN ('static_bearer', 'headers', 'mcp_oauth')),
    header_names   TEXT NOT NULL DEFAULT '["Authorization"]',
    sealed_token   BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER,
    UNIQUE (vault_id, mcp_server_url)
) STRICT;

INSERT INTO credentials_v7
    (id, vault_id, mcp_server_url, protocol, type, header_names, sealed_token, created_at, last_used_at)
SELECT id, vault_id, mcp_server_url, protocol, type, '["Authorization"]', sealed_token, created_at, last_used_at
FROM credentials;

DROP TABLE credentials;
ALTER TABLE credentials_v7 RENAME TO credentials;

CREATE TRIGGER catalog_credential_added AFTER INSERT ON credentials
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER catalog_credential_removed AFTER DELETE ON credentials
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER catalog_credential_changed
AFTER UPDATE OF id, vault_id, mcp_server_url, protocol, type, header_names, sealed_token ON credentials
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

-- The rebuild itself changed nothing a lookup answers, but caches of a
-- running process are dropped anyway: they were filled from the old table.
UPDATE catalog_version SET version = version + 1 WHERE id = 1;
