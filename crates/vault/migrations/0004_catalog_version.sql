-- A counter that moves with every change that can alter what a set of vaults
-- resolves to (which credential, which token), and with nothing else. The
-- tokens part's readers (docs/architecture.md, "Tokens") drop their cached
-- tokens when it moves, and keep them across commits that cannot matter: the
-- audit trail and "last used" times, written on every proxied request.
-- Triggers, not application code, move it, so no write path can forget to.
CREATE TABLE catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;

INSERT INTO catalog_version (id, version) VALUES (1, 0);

CREATE TRIGGER catalog_credential_added AFTER INSERT ON credentials
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

-- Also fired for the credentials a deleted vault takes with it (ON DELETE CASCADE).
CREATE TRIGGER catalog_credential_removed AFTER DELETE ON credentials
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER catalog_credential_changed
AFTER UPDATE OF id, vault_id, mcp_server_url, protocol, type, sealed_token ON credentials
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

-- Vaults can be named instead of identified, so a new, renamed or removed
-- vault can change what a name resolves to.
CREATE TRIGGER catalog_vault_added AFTER INSERT ON vaults
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER catalog_vault_removed AFTER DELETE ON vaults
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER catalog_vault_changed AFTER UPDATE OF id, display_name, environment ON vaults
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
