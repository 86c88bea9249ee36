-- Import (docs/architecture.md, "App connections"): before Keybearer moves
-- tokens pasted in an app's settings file into a vault, the file as it was is
-- kept here, sealed (AES-256-GCM under the master key, like a token: it holds
-- the tokens), so "Undo import" can put it back. The newest one per app is
-- kept; undo removes it. No plaintext copy is written anywhere.
CREATE TABLE app_backups (
    id                 TEXT PRIMARY KEY,
    app                TEXT NOT NULL,
    config_path        TEXT NOT NULL,
    sealed_text        BLOB NOT NULL,
    -- The import created the app's connection (undo removes it again).
    created_connection INTEGER NOT NULL CHECK (created_connection IN (0, 1)),
    created_at         INTEGER NOT NULL
) STRICT;

CREATE INDEX app_backups_by_app ON app_backups (app, created_at DESC);
