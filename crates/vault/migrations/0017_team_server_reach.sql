-- When a team server stopped answering (docs/architecture.md, "Team
-- vaults"): set by whichever process of this computer first failed to reach
-- it (the window asking who is signed in, a session's or a bridge's team
-- source falling back to the last good values), kept by the next failures,
-- cleared by the next answer any of them gets. Unix milliseconds; NULL: it
-- answered last time it was asked.
ALTER TABLE team_servers ADD COLUMN unreachable_since INTEGER;
