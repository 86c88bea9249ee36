// "Sign in again" for an OAuth credential whose refresh was refused or whose
// server asked for more access (the sign-in asks for those scopes), the one
// flow for every view that offers it (the vault's credentials table, the
// session view's servers). Flow: `start(credential)` →
// `startOAuthSignInAgain(id)` (Rust reads the credential's address, the
// access asked for and, for an OAuth app the user made, e.g. GitHub's, that
// app's client id and secret from the vault, discovers the sign-in service
// and opens the system browser; the webview sends only the id) →
// `finishOAuthSignInAgain` waits for the browser (up to 5 minutes) and puts
// the new grant in place of the credential, which gets a new id → its
// renewal notice is kept in `notices` under the new id (whether Keybearer
// can keep it fresh, or when it ends, as after a first sign-in) and every
// `onReplaced` listener hears (old id, new credential). While it waits, the
// credential's id is in `waiting` (so any view shows "Waiting…" and Cancel);
// `cancel` stops the wait. Limits: one sign-in per credential at a time; the
// state lives as long as the window; no token or client secret ever comes
// back over IPC.
import { SvelteMap } from "svelte/reactivity";
import * as api from "./api";
import type { Credential } from "./types";

export type Replaced = (oldId: string, replacement: Credential) => void;

/**
 * An OAuth credential only a new sign-in helps: the service refused to renew
 * it, or the server asked for more access than was granted (the sign-in then
 * asks for `wanted_scope`).
 */
export function needsSignInAgain(credential: Pick<Credential, "type" | "needs_sign_in" | "wanted_scope">): boolean {
  return credential.type === "mcp_oauth" && (credential.needs_sign_in || credential.wanted_scope !== null);
}

export class SignInAgain {
  /** Credential id → the sign-in waiting for the browser ("" while it starts). */
  readonly waiting = new SvelteMap<string, string>();
  /** New credential id → what its sign-in said about renewal ("This server gave no way to renew…"). */
  readonly notices = new SvelteMap<string, string>();
  private cancelled = new Set<string>();
  private listeners = new Set<Replaced>();

  isWaiting(credentialId: string): boolean {
    return this.waiting.has(credentialId);
  }

  /**
   * Signs in again for `credential`. Resolves with the replacement, or null
   * when cancelled or already waiting; rejects with the IpcError otherwise.
   */
  async start(credential: Credential): Promise<Credential | null> {
    const id = credential.id;
    if (this.waiting.has(id)) return null;
    this.waiting.set(id, "");
    this.cancelled.delete(id);
    try {
      const signInId = await api.startOAuthSignInAgain(id);
      this.waiting.set(id, signInId);
      // Cancel was pressed while the browser was being opened.
      if (this.cancelled.has(id)) await api.cancelOAuthSignIn(signInId);
      const { credential: replacement, renewal } = await api.finishOAuthSignInAgain(signInId, id);
      this.notices.set(replacement.id, renewal);
      for (const listener of this.listeners) listener(id, replacement);
      return replacement;
    } catch (error) {
      if (this.cancelled.has(id)) return null;
      throw error;
    } finally {
      this.waiting.delete(id);
      this.cancelled.delete(id);
    }
  }

  async cancel(credentialId: string): Promise<void> {
    if (!this.waiting.has(credentialId)) return;
    this.cancelled.add(credentialId);
    const signInId = this.waiting.get(credentialId);
    if (signInId) await api.cancelOAuthSignIn(signInId).catch(() => {});
  }

  /** Hears every finished sign-in, whichever view started it; returns the unsubscribe. */
  onReplaced(listener: Replaced): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export const signInAgain = new SignInAgain();
