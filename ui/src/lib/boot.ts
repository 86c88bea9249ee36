// Which screen the app shows, decided from the engine's Status alone.
import type { IpcError, Status } from "./types";

export type StartRoute =
  | "first-run" // nothing set up yet
  | "recover" // the keychain lost the key: ask for the recovery key
  | "unlock" // passphrase-protected and still locked
  | "unlock-keychain" // keychain-protected and still locked: try unlock() first
  | "main";

export function routeFor(status: Status): StartRoute {
  if (!status.initialized) return "first-run";
  if (status.recovery_needed) return "recover";
  if (status.unlocked) return "main";
  return status.protection === "passphrase" ? "unlock" : "unlock-keychain";
}

export type UnlockFailureRoute = "keychain-problem" | "recover" | "unlock" | "first-run" | "error";

/** Where to go when unlocking with the keychain failed. */
export function routeForUnlockError(error: IpcError): UnlockFailureRoute {
  switch (error.code) {
    case "keychain_locked":
    case "keychain_unavailable":
      return "keychain-problem";
    case "recovery_needed":
      return "recover";
    case "passphrase_required":
      return "unlock";
    case "not_initialized":
      return "first-run";
    default:
      return "error";
  }
}
