// The approvals direct mode asks for: requests arriving (by event or already
// waiting), closing, and answers. Only Tauri's `invoke` and `listen` are
// replaced; api.ts and the store are the app's own.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
const listen = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke }));
vi.mock("@tauri-apps/api/event", () => ({ listen }));

const { ApprovalStore, GONE_MESSAGE } = await import("./approvals.svelte");
type PendingApproval = import("./types").PendingApproval;

function approval(id: string, program = "claude"): PendingApproval {
  return {
    id,
    request: { program, vaults: ["GitHub", "Jira"], environment: "development" },
    pid: 4242,
    command: "keybearer session start --direct --vault GitHub --vault Jira",
  };
}

/** A promise the test settles by hand. */
function later<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** The app's events as Tauri would deliver them to `listen`'s handlers. */
const handlers = new Map<string, (message: { payload: unknown }) => void>();
const unlistened: string[] = [];
function emit(event: string, payload: unknown) {
  const handler = handlers.get(event);
  if (!handler) throw new Error(`nobody listens to ${event}`);
  handler({ payload });
}

let waiting: PendingApproval[];

beforeEach(() => {
  waiting = [];
  handlers.clear();
  unlistened.length = 0;
  listen.mockReset();
  listen.mockImplementation(async (event: string, handler: (message: { payload: unknown }) => void) => {
    handlers.set(event, handler);
    return () => unlistened.push(event);
  });
  invoke.mockReset();
  invoke.mockImplementation(async (command: string) => {
    switch (command) {
      case "pending_approvals":
        return waiting;
      case "answer_approval":
        return null;
      default:
        throw new Error(`unexpected command ${command}`);
    }
  });
  vi.stubGlobal("window", { __TAURI_INTERNALS__: {} });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("requests arriving", () => {
  it("listens before it loads, and shows what already waits, oldest first", async () => {
    waiting = [approval("apr_00000001"), approval("apr_00000002")];
    const store = new ApprovalStore();
    await store.init();
    expect(listen.mock.calls.map(([event]) => event)).toEqual(["approval-requested", "approval-closed"]);
    expect(invoke).toHaveBeenCalledWith("pending_approvals", undefined);
    expect(store.pending.map((p) => p.id)).toEqual(["apr_00000001", "apr_00000002"]);
    expect(store.current?.id).toBe("apr_00000001");
    expect(store.loadError).toBeNull();
  });

  it("adds a request that arrives later, after the older ones", async () => {
    waiting = [approval("apr_00000001")];
    const store = new ApprovalStore();
    await store.init();
    emit("approval-requested", approval("apr_00000002", "/usr/local/bin/agent"));
    expect(store.pending.map((p) => p.id)).toEqual(["apr_00000001", "apr_00000002"]);
    expect(store.pending[1].request.program).toBe("/usr/local/bin/agent");
    expect(store.current?.id).toBe("apr_00000001");
  });

  it("keeps one copy of a request heard twice, by event and by the load", async () => {
    const load = later<PendingApproval[]>();
    invoke.mockImplementation((command: string) =>
      command === "pending_approvals" ? load.promise : Promise.reject(new Error(command)),
    );
    const store = new ApprovalStore();
    const ready = store.init();
    await vi.waitFor(() => expect(invoke).toHaveBeenCalled());
    // Arrives while the load runs, and the load has it too.
    emit("approval-requested", approval("apr_00000002"));
    emit("approval-requested", approval("apr_00000002"));
    expect(store.pending.map((p) => p.id)).toEqual(["apr_00000002"]);
    load.resolve([approval("apr_00000001"), approval("apr_00000002")]);
    await ready;
    expect(store.pending.map((p) => p.id)).toEqual(["apr_00000001", "apr_00000002"]);
    emit("approval-requested", approval("apr_00000001"));
    expect(store.pending).toHaveLength(2);
  });

  it("does not bring back a request closed while the load ran", async () => {
    const load = later<PendingApproval[]>();
    invoke.mockImplementation((command: string) =>
      command === "pending_approvals" ? load.promise : Promise.reject(new Error(command)),
    );
    const store = new ApprovalStore();
    const ready = store.init();
    await vi.waitFor(() => expect(invoke).toHaveBeenCalled());
    emit("approval-closed", { id: "apr_00000001" });
    load.resolve([approval("apr_00000001")]);
    await ready;
    expect(store.pending).toEqual([]);
  });

  it("subscribes once however often init is called", async () => {
    const store = new ApprovalStore();
    await Promise.all([store.init(), store.init()]);
    await store.init();
    expect(listen).toHaveBeenCalledTimes(2);
  });

  it("never rejects: a failure is kept, the listeners dropped, and the next init tries again", async () => {
    invoke.mockRejectedValueOnce({ code: "internal", message: "The engine is busy.", field: null });
    const store = new ApprovalStore();
    await expect(store.init()).resolves.toBeUndefined();
    expect(store.loadError?.message).toBe("The engine is busy.");
    expect(unlistened).toEqual(["approval-requested", "approval-closed"]);
    waiting = [approval("apr_00000001")];
    await store.init();
    expect(store.loadError).toBeNull();
    expect(store.pending.map((p) => p.id)).toEqual(["apr_00000001"]);
  });

  it("outside the app it reports not_in_app instead of throwing", async () => {
    vi.stubGlobal("window", {});
    const store = new ApprovalStore();
    await expect(store.init()).resolves.toBeUndefined();
    expect(store.loadError?.code).toBe("not_in_app");
    expect(listen).not.toHaveBeenCalled();
  });
});

describe("requests closing", () => {
  it("removes a request once it is closed, and only that one", async () => {
    waiting = [approval("apr_00000001"), approval("apr_00000002")];
    const store = new ApprovalStore();
    await store.init();
    emit("approval-closed", { id: "apr_00000001" });
    expect(store.pending.map((p) => p.id)).toEqual(["apr_00000002"]);
    expect(store.current?.id).toBe("apr_00000002");
    emit("approval-closed", { id: "apr_00000009" });
    emit("approval-closed", { id: "apr_00000002" });
    expect(store.pending).toEqual([]);
    expect(store.current).toBeNull();
    // A late duplicate of a closed request stays away.
    emit("approval-requested", approval("apr_00000002"));
    expect(store.pending).toEqual([]);
  });
});

describe("answering", () => {
  it("sends the id and the answer, and removes the request", async () => {
    waiting = [approval("apr_00000001"), approval("apr_00000002")];
    const store = new ApprovalStore();
    await store.init();
    await store.answer("apr_00000001", true);
    expect(invoke).toHaveBeenLastCalledWith("answer_approval", { id: "apr_00000001", approve: true });
    expect(store.pending.map((p) => p.id)).toEqual(["apr_00000002"]);
    await store.answer("apr_00000002", false);
    expect(invoke).toHaveBeenLastCalledWith("answer_approval", { id: "apr_00000002", approve: false });
    expect(store.pending).toEqual([]);
    expect(store.error).toBeNull();
  });

  it("is busy while the answer is sent, and ignores a second press", async () => {
    waiting = [approval("apr_00000001")];
    const store = new ApprovalStore();
    await store.init();
    const sent = later<null>();
    invoke.mockImplementation(() => sent.promise);
    const done = store.answer("apr_00000001", false);
    expect(store.answering).toBe("apr_00000001");
    await store.answer("apr_00000001", true);
    expect(invoke.mock.calls.filter(([command]) => command === "answer_approval")).toHaveLength(1);
    // The app's own closed event may come before the answer returns.
    emit("approval-closed", { id: "apr_00000001" });
    sent.resolve(null);
    await done;
    expect(store.answering).toBeNull();
    expect(store.pending).toEqual([]);
    expect(store.error).toBeNull();
  });

  it("says so when the request is no longer waiting, and removes it", async () => {
    waiting = [approval("apr_00000001"), approval("apr_00000002")];
    const store = new ApprovalStore();
    await store.init();
    invoke.mockRejectedValueOnce({ code: "not_found", message: "No approval request apr_00000001.", field: null });
    await store.answer("apr_00000001", true);
    expect(store.pending.map((p) => p.id)).toEqual(["apr_00000002"]);
    expect(store.error).toBe(GONE_MESSAGE);
    expect(store.answering).toBeNull();
    // The next answer starts without the old message.
    await store.answer("apr_00000002", false);
    expect(store.error).toBeNull();
  });

  it("keeps the request after any other failure, so it can be answered again", async () => {
    waiting = [approval("apr_00000001")];
    const store = new ApprovalStore();
    await store.init();
    invoke.mockRejectedValueOnce({ code: "internal", message: "The answer could not be sent.", field: null });
    await store.answer("apr_00000001", false);
    expect(store.pending.map((p) => p.id)).toEqual(["apr_00000001"]);
    expect(store.error).toBe("The answer could not be sent.");
    store.dismiss();
    expect(store.error).toBeNull();
    await store.answer("apr_00000001", false);
    expect(store.pending).toEqual([]);
  });
});
