// The app's running sessions and their terminal output. Output is kept here
// (the tail of each terminal) so a terminal redrawn after switching pages or
// tabs shows what the agent already wrote. `withCredentials` joins a
// session's proxied servers with the credentials they use now, for the
// session view's "Sign in again".
import * as api from "./api";
import type { Credential, IpcError, Resolution, ServerActivity, Session } from "./types";

/** How much of each terminal's output is kept for redrawing. */
export const OUTPUT_LIMIT = 512 * 1024;

type OutputListener = (id: string, data: string) => void;

export function appendCapped(buffer: string, data: string, limit = OUTPUT_LIMIT): string {
  const joined = buffer + data;
  return joined.length > limit ? joined.slice(joined.length - limit) : joined;
}

/** Replaces the session with the same id (keeping the order), or adds it first. */
export function upsertSession(sessions: Session[], session: Session): Session[] {
  const index = sessions.findIndex((known) => known.id === session.id);
  if (index === -1) return [session, ...sessions];
  const next = [...sessions];
  next[index] = session;
  return next;
}

/** "running", "exited (0)", "stopped", "failed: …" */
export function describeState(session: Session): string {
  switch (session.state) {
    case "exited":
      return `exited (${session.code})`;
    case "failed":
      return `failed: ${session.reason}`;
    default:
      return session.state;
  }
}

export function isActive(session: Session): boolean {
  return session.state === "starting" || session.state === "running";
}

/** A session's server with the credential its next request would use (null: none found). */
export type ServerWithCredential = ServerActivity & { credential: Credential | null };

/**
 * Each proxied server with the credential the session's vaults give it now
 * (`coverage` of the session's vaults, in order: what the proxy looks up on
 * every request). Both sides carry the normalised URL.
 */
export function withCredentials(servers: ServerActivity[], coverage: Resolution[]): ServerWithCredential[] {
  const byUrl = new Map(coverage.map((resolution) => [resolution.credential.mcp_server_url, resolution.credential]));
  return servers.map((server) => ({ ...server, credential: byUrl.get(server.upstream_url) ?? null }));
}

class SessionStore {
  sessions = $state<Session[]>([]);
  private output = new Map<string, string>();
  private listeners = new Set<OutputListener>();
  private ready: Promise<void> | null = null;

  /** Subscribes to the app's session events once and loads the sessions. */
  init(report: (error: IpcError) => void): Promise<void> {
    this.ready ??= (async () => {
      try {
        await api.onSessionOutput(({ id, data }) => {
          this.output.set(id, appendCapped(this.output.get(id) ?? "", data));
          for (const listener of this.listeners) listener(id, data);
        });
        await api.onSessionEnded(({ session }) => this.update(session));
        for (const session of await api.listSessions()) this.update(session);
      } catch (raw) {
        this.ready = null;
        report(raw as IpcError);
      }
    })();
    return this.ready;
  }

  update(session: Session) {
    this.sessions = upsertSession(this.sessions, session);
  }

  outputOf(id: string): string {
    return this.output.get(id) ?? "";
  }

  onOutput(listener: OutputListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export const sessionStore = new SessionStore();
