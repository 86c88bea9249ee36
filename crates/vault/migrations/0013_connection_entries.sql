-- The entries Keybearer wrote into a connected app's settings file
-- (docs/architecture.md, "App connections"): their names, the server each
-- bridges and the program it starts. With them, an entry that something
-- else rewrote under one of these names (another program, no connection id
-- any more) is still known as Keybearer's, told apart from the user's own
-- servers, and put back by sync. Rewritten after every write of the file;
-- a connection from before this migration has none until its next sync.
CREATE TABLE connection_entries (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    server_url    TEXT NOT NULL,
    command       TEXT NOT NULL,
    PRIMARY KEY (connection_id, name)
) STRICT;
