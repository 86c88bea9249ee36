-- Team servers and team vaults (docs/architecture.md, "Team vaults"): an
-- OpenBao or HashiCorp Vault server the user added, and the vaults of this
-- computer that live on one. No secret here: the server's sign-in (its
-- token) is in the OS keychain; a team vault's credentials are on the
-- server. A team server's CA certificate (PEM, public) is kept here, as it
-- was when the user trusted it, so a file changed later trusts nothing new.
CREATE TABLE team_servers (
    id                  TEXT PRIMARY KEY,          -- tsv_…; names its keychain entry
    name                TEXT NOT NULL,
    address             TEXT NOT NULL,             -- https://…, or http:// to this computer
    mount               TEXT NOT NULL,             -- the KV version 2 mount
    path_template       TEXT NOT NULL,             -- contains {environment} once
    ca_pem              BLOB,
    ca_fingerprints     TEXT NOT NULL DEFAULT '',   -- SHA-256 of each, space-separated
    check_interval_secs INTEGER NOT NULL CHECK (check_interval_secs BETWEEN 1 AND 86400),
    last_good_secs      INTEGER NOT NULL CHECK (last_good_secs BETWEEN 0 AND 604800),
    created_at          INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX team_servers_by_name ON team_servers (lower(name));

-- A team vault is a row of `vaults` (ids tvl_…) naming its server and its
-- folder there; its credentials are never rows of `credentials`. A server
-- with vaults cannot be removed before them (the wiring removes both).
ALTER TABLE vaults ADD COLUMN team_server_id TEXT REFERENCES team_servers (id) ON DELETE RESTRICT;
ALTER TABLE vaults ADD COLUMN team_folder TEXT;

CREATE INDEX vaults_by_team_server ON vaults (team_server_id) WHERE team_server_id IS NOT NULL;

-- The last value a team server confirmed for a credential, sealed with the
-- master key (bound to its vault and URL), so a bridge or session started
-- while the server is out of reach can still work for a limited time
-- (the server's last_good_secs since confirmed_at). Removed when the
-- server says the credential is gone or the user signs out.
CREATE TABLE team_last_good (
    vault_id     TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    url          TEXT NOT NULL,
    version      INTEGER NOT NULL,
    confirmed_at INTEGER NOT NULL,               -- unix milliseconds
    sealed       BLOB NOT NULL,
    PRIMARY KEY (vault_id, url)
) STRICT;
