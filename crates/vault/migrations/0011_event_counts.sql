-- Counted credential uses (docs/architecture.md, "Proxy"): the proxy writes
-- the alike uses of one audit window (same credential, session, server,
-- method, status and note) as one `credential.used` event with how many
-- requests it stands for, instead of a row per request (a busy session wrote
-- thousands of rows a second). Every other event, and every event written
-- before this migration, stands for one happening.
ALTER TABLE events ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1);
