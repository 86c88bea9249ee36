-- OAuth credentials (docs/architecture.md, "OAuth"): the proxy and the
-- bridge refresh them; when a refresh is refused for good the credential is
-- marked here, so the window, the CLI and the sessions say "sign in again"
-- instead of failing in a loop. A refreshed grant (sealed_token) clears it.
ALTER TABLE credentials ADD COLUMN needs_sign_in INTEGER NOT NULL DEFAULT 0
    CHECK (needs_sign_in IN (0, 1));

DROP TRIGGER catalog_credential_changed;
CREATE TRIGGER catalog_credential_changed
AFTER UPDATE OF id, vault_id, mcp_server_url, protocol, type, header_names, sealed_token,
    needs_sign_in ON credentials
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
