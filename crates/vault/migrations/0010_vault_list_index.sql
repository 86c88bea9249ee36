-- The vault list at scale (docs/architecture.md, "Store and migrations"):
-- each vault's credential count and last use come from this index alone,
-- without reading the credential rows (10,000 vaults / 100,000 credentials:
-- the list went from 42 ms to 27 ms in `make bench`).
CREATE INDEX credentials_vault_last_used ON credentials (vault_id, last_used_at);
