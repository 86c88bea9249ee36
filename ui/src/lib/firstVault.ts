// The vault a person's first servers go to when they have none yet: the
// empty vault list's "Add your first server" and the first-run path both
// keep what they add in it (docs/architecture.md, "First steps"). Made on
// first use, found again after that, so going back and forth makes one.
import * as api from "./api";
import type { Vault } from "./types";

/** The vault "Add your first server" keeps the server in (renamed at will). */
export const FIRST_VAULT = "My servers";

/** The first vault among these, by name ignoring ASCII case as the engine compares names. */
export function findFirstVault(vaults: readonly Vault[], environment: string): Vault | null {
  const wanted = FIRST_VAULT.toLowerCase();
  return vaults.find((vault) => vault.environment === environment && vault.display_name.toLowerCase() === wanted) ?? null;
}

/** The first vault of `environment`: the one there, or a new one. Rejects with an IpcError. */
export async function firstVault(environment: string): Promise<Vault> {
  const found = findFirstVault(await api.listVaults(environment), environment);
  return found ?? api.createVault(FIRST_VAULT, environment);
}
