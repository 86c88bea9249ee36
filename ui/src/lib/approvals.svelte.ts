// Direct mode asked for from the command line (`keybearer session start
// --direct`): the requests waiting for the person's answer, oldest first, for
// the approval dialog that every screen shows. `init()` listens to the app's
// events first and then loads what already waits (a window that opens or
// reloads after the question was asked still shows it); both are merged by id.
// A request leaves the list when it is answered here or when its asker gave
// up (`approval-closed`). No secret ever passes through here.
import * as api from "./api";
import { toIpcError } from "./errors";
import type { IpcError, PendingApproval } from "./types";

/** Shown when an answer comes too late: the asking command is gone. */
export const GONE_MESSAGE = "That request is no longer waiting: the command gave up or was stopped.";

export class ApprovalStore {
  /** The requests waiting, oldest first. */
  pending = $state<PendingApproval[]>([]);
  /** The request whose answer is being sent (the dialog's buttons are off meanwhile). */
  answering = $state<string | null>(null);
  /** The last answer's failure, in plain words, until the next answer or `dismiss()`. */
  error = $state<string | null>(null);
  /** Why the requests could not be listened to (null: listening, or not tried yet). */
  loadError = $state<IpcError | null>(null);

  /** Ids answered or withdrawn: a load that raced with their closing must not bring them back. */
  private closed = new Set<string>();
  private ready: Promise<void> | null = null;

  /** The request to ask about now. */
  get current(): PendingApproval | null {
    return this.pending[0] ?? null;
  }

  /**
   * Listens to the app's approval events once, then loads the requests
   * already waiting. Never rejects: a failure is kept in `loadError`, and a
   * later call tries again.
   */
  init(): Promise<void> {
    this.ready ??= (async () => {
      const unlisten: (() => void)[] = [];
      try {
        unlisten.push(await api.onApprovalRequested((pending) => this.add(pending)));
        unlisten.push(await api.onApprovalClosed(({ id }) => this.remove(id)));
        this.merge(await api.pendingApprovals());
        this.loadError = null;
      } catch (raw) {
        for (const stop of unlisten) stop();
        this.ready = null;
        this.loadError = toIpcError(raw);
      }
    })();
    return this.ready;
  }

  /** A request that just arrived goes last (the oldest is asked about first). */
  add(pending: PendingApproval) {
    if (this.closed.has(pending.id) || this.pending.some((known) => known.id === pending.id)) return;
    this.pending = [...this.pending, pending];
  }

  remove(id: string) {
    this.closed.add(id);
    if (this.pending.some((known) => known.id === id)) {
      this.pending = this.pending.filter((known) => known.id !== id);
    }
  }

  /**
   * The requests the app says wait now (oldest first) come first; those
   * heard of meanwhile and not in that list are newer and follow.
   */
  private merge(loaded: PendingApproval[]) {
    const merged = new Map<string, PendingApproval>();
    for (const pending of [...loaded, ...this.pending]) {
      if (!this.closed.has(pending.id) && !merged.has(pending.id)) merged.set(pending.id, pending);
    }
    this.pending = [...merged.values()];
  }

  /**
   * Sends the person's answer. The request leaves the list once answered, or
   * when the app says it no longer waits (`GONE_MESSAGE` then tells why);
   * any other failure keeps it, with the error, so it can be answered again.
   */
  async answer(id: string, approve: boolean): Promise<void> {
    if (this.answering !== null) return;
    this.answering = id;
    this.error = null;
    try {
      await api.answerApproval(id, approve);
      this.remove(id);
    } catch (raw) {
      const error = toIpcError(raw);
      if (error.code === "not_found") {
        this.remove(id);
        this.error = GONE_MESSAGE;
      } else {
        this.error = error.message;
      }
    } finally {
      this.answering = null;
    }
  }

  dismiss() {
    this.error = null;
  }
}

export const approvals = new ApprovalStore();
