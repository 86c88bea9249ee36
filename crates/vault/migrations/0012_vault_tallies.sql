-- The vault list at scale (docs/architecture.md, "Store and migrations"):
-- each vault keeps its credential count and latest use, kept right by the
-- triggers below, so listing 10,000 vaults reads the vaults alone instead of
-- looking up two figures per vault among 100,000 credentials. The catalog
-- version does not move with these columns (`catalog_vault_changed` watches
-- id, name and environment only), so "last used" never empties token caches.
ALTER TABLE vaults ADD COLUMN credential_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vaults ADD COLUMN last_used_at INTEGER;

UPDATE vaults SET
    credential_count = (SELECT COUNT(*) FROM credentials c WHERE c.vault_id = vaults.id),
    last_used_at = (SELECT MAX(c.last_used_at) FROM credentials c WHERE c.vault_id = vaults.id);

CREATE TRIGGER vault_tally_added AFTER INSERT ON credentials
BEGIN
    UPDATE vaults SET
        credential_count = credential_count + 1,
        last_used_at = (SELECT MAX(c.last_used_at) FROM credentials c WHERE c.vault_id = NEW.vault_id)
    WHERE id = NEW.vault_id;
END;

CREATE TRIGGER vault_tally_removed AFTER DELETE ON credentials
BEGIN
    UPDATE vaults SET
        credential_count = credential_count - 1,
        last_used_at = (SELECT MAX(c.last_used_at) FROM credentials c WHERE c.vault_id = OLD.vault_id)
    WHERE id = OLD.vault_id;
END;

CREATE TRIGGER vault_tally_changed AFTER UPDATE OF vault_id, last_used_at ON credentials
BEGIN
    UPDATE vaults SET
        credential_count = (SELECT COUNT(*) FROM credentials c WHERE c.vault_id = vaults.id),
        last_used_at = (SELECT MAX(c.last_used_at) FROM credentials c WHERE c.vault_id = vaults.id)
    WHERE id IN (OLD.vault_id, NEW.vault_id);
END;
