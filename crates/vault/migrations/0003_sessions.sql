-- Agent sessions: what ran, with which vaults, and how it ended. Holds no
-- secret. pid/pgid/process_start/owner_pid let another Keybearer process
-- stop a session or notice that its owner vanished.
CREATE TABLE sessions (
    id                TEXT PRIMARY KEY,
    vault_ids         TEXT NOT NULL,  -- JSON array, in precedence order
    environment       TEXT NOT NULL,
    agent             TEXT NOT NULL CHECK (agent IN ('claude', 'codex', 'custom')),
    program           TEXT NOT NULL,
    working_dir       TEXT NOT NULL,
    injection_mode    TEXT NOT NULL CHECK (injection_mode IN ('proxy', 'direct')),
    status            TEXT NOT NULL
                      CHECK (status IN ('starting', 'running', 'exited', 'failed', 'stopped')),
    exit_code         INTEGER,
    signal            INTEGER,
    reason            TEXT,
    owner_pid         INTEGER NOT NULL,  -- the Keybearer process running it
    owner_start       INTEGER,           -- its start time (Linux), to detect pid reuse
    pid               INTEGER,           -- the agent; leader of its own process group
    process_start     INTEGER,           -- the agent's start time (Linux), to detect pid reuse
    private_dir       TEXT,              -- its 0700 temp folder, removed at the end
    stop_requested_at INTEGER,
    started_at        INTEGER NOT NULL,
    ended_at          INTEGER
) STRICT;

CREATE INDEX sessions_by_start ON sessions (started_at DESC, id DESC);
CREATE INDEX sessions_active ON sessions (status) WHERE status IN ('starting', 'running');
