-- Settings and key material (key check value, wrapped master-key copies).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE environments (
    name       TEXT PRIMARY KEY,
    colour     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

INSERT INTO environments (name, colour, created_at) VALUES
    ('development', '#2e7d32', 0),
    ('staging',     '#ef6c00', 0),
    ('production',  '#c62828', 0);

CREATE TABLE vaults (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    environment  TEXT NOT NULL REFERENCES environments (name) ON DELETE RESTRICT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX vaults_by_environment ON vaults (environment, display_name);

-- sealed_token is an AES-256-GCM envelope; the plaintext never reaches this file.
CREATE TABLE credentials (
    id             TEXT PRIMARY KEY,
    vault_id       TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    mcp_server_url TEXT NOT NULL,
    protocol       TEXT NOT NULL CHECK (protocol IN ('sse', 'streamable_http')),
    type           TEXT NOT NULL CHECK (type = 'static_bearer'),
    sealed_token   BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER,
    UNIQUE (vault_id, mcp_server_url)
) STRICT;
