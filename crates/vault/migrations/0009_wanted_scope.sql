-- Scope step-up (docs/architecture.md, "OAuth"): a server answered 403
-- insufficient_scope through the proxy or the bridge. What the next sign-in
-- should ask for (the grant's scopes plus the server's) is kept here, so the
-- window's and the CLI's "Sign in again" ask for it. A new sign-in replaces
-- the credential row, so it starts empty.
ALTER TABLE credentials ADD COLUMN wanted_scope TEXT;

DROP TRIGGER catalog_credential_changed;
CREATE TRIGGER catalog_credential_changed
AFTER UPDATE OF id, vault_id, mcp_server_url, protocol, type, header_names, sealed_token,
    needs_sign_in, wanted_scope ON credentials
BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
END;
