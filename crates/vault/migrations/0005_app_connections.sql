-- App connections (docs/architecture.md, "App connections"): an app that
-- Keybearer does not launch (Claude Desktop, Cursor, …) reaches its servers
-- through `keybearer bridge --connection ID`, and the connection names which
-- vaults, of one environment and in which order, the bridge looks in. At
-- most one connection per app. Holds no secret; the app's config file holds
-- only the bridge command and this id.
CREATE TABLE connections (
    id           TEXT PRIMARY KEY,
    app          TEXT NOT NULL UNIQUE,
    environment  TEXT NOT NULL REFERENCES environments (name) ON DELETE RESTRICT,
    config_path  TEXT NOT NULL,     -- the app config file the entries were written to
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;

-- The connection's vaults in precedence order (position 0 wins). A deleted
-- vault leaves its connections.
CREATE TABLE connection_vaults (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    vault_id      TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    PRIMARY KEY (connection_id, position),
    UNIQUE (connection_id, vault_id)
) STRICT;

CREATE INDEX connection_vaults_by_vault ON connection_vaults (vault_id);

-- Which connection (app) a recorded event concerns: connect, disconnect and
-- every use of a credential through a bridge.
ALTER TABLE events ADD COLUMN connection_id TEXT;

-- A bridge resolves its vaults on every request through the tokens part's
-- readers, whose caches follow catalog_version (migration 0004): a changed
-- connection must move it too, so switching an app's vaults or environment
-- takes effect on its bridge's next request.
CREATE TRIGGER catalog_connection_added AFTER INSERT ON connections
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER catalog_connection_removed AFTER DELETE ON connections
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER catalog_connection_changed AFTER UPDATE OF id, environment ON connections
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER catalog_connection_vault_added AFTER INSERT ON connection_vaults
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER catalog_connection_vault_removed AFTER DELETE ON connection_vaults
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
