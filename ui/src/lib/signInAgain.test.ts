// "Sign in again": the commands in order, the waiting state every view shows,
// Cancel at either step, and who hears the replacement. Only Tauri's
// `invoke` is replaced; api.ts and the flow are the app's own.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke }));

const { SignInAgain, needsSignInAgain } = await import("./signInAgain.svelte");
type Credential = import("./types").Credential;

function credential(id: string, needs_sign_in = true): Credential {
  return {
    id,
    vault_id: "vlt_1",
    mcp_server_url: "https://mcp.example/mcp",
    protocol: "streamable_http",
    type: "mcp_oauth",
    header_names: ["Authorization"],
    needs_sign_in,
    wanted_scope: null,
    created_at: "2026-11-26T09:00:00Z",
    last_used_at: null,
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

/** Lets pending promise callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

type SignedIn = import("./types").SignedIn;

let started: ReturnType<typeof later<string>>;
let finished: ReturnType<typeof later<SignedIn>>;

const NO_RENEWAL = "This server gave no way to renew the sign-in: you will have to sign in again when it expires (in 8 hours).";

function signedIn(id: string): SignedIn {
  return { credential: credential(id, false), renewable: false, renewal: NO_RENEWAL };
}

beforeEach(() => {
  started = later<string>();
  finished = later<SignedIn>();
  invoke.mockReset();
  invoke.mockImplementation((command: string) => {
    switch (command) {
      case "start_oauth_sign_in_again":
        return started.promise;
      case "finish_oauth_sign_in_again":
        return finished.promise;
      case "cancel_oauth_sign_in":
        finished.reject({ code: "sign_in_failed", message: "Sign-in was cancelled.", field: null });
        return Promise.resolve(null);
      default:
        return Promise.reject(new Error(`unexpected command ${command}`));
    }
  });
  vi.stubGlobal("window", { __TAURI_INTERNALS__: {} });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("needsSignInAgain", () => {
  it("is only for OAuth credentials the service refused to renew or that need more access", () => {
    expect(needsSignInAgain(credential("cred_1"))).toBe(true);
    expect(needsSignInAgain(credential("cred_1", false))).toBe(false);
    expect(needsSignInAgain({ ...credential("cred_1", false), wanted_scope: "mcp admin" })).toBe(true);
    expect(needsSignInAgain({ type: "static_bearer", needs_sign_in: true, wanted_scope: null })).toBe(false);
  });

  it("names only the credential: its address, scopes and client come from the vault", async () => {
    const flow = new SignInAgain();
    void flow.start({ ...credential("cred_s", false), wanted_scope: "mcp admin" }).catch(() => {});
    expect(invoke).toHaveBeenCalledWith("start_oauth_sign_in_again", { id: "cred_s" });
    await flow.cancel("cred_s");
    started.resolve("sign-in-s");
    await settle();
    await settle();
    expect(flow.isWaiting("cred_s")).toBe(false);
  });
});

describe("signing in again", () => {
  it("starts, waits for the browser, keeps the renewal notice and hands the replacement to every listener", async () => {
    const flow = new SignInAgain();
    const heard: [string, string][] = [];
    flow.onReplaced((oldId, replacement) => heard.push([oldId, replacement.id]));
    const stop = flow.onReplaced(() => heard.push(["removed listener", ""]));
    stop();

    const done = flow.start(credential("cred_old"));
    expect(flow.isWaiting("cred_old")).toBe(true);
    expect(invoke).toHaveBeenCalledWith("start_oauth_sign_in_again", { id: "cred_old" });
    started.resolve("sign-in-7");
    await settle();
    expect(flow.waiting.get("cred_old")).toBe("sign-in-7");
    expect(invoke).toHaveBeenLastCalledWith("finish_oauth_sign_in_again", { signInId: "sign-in-7", id: "cred_old" });

    // A second press while waiting starts nothing.
    expect(await flow.start(credential("cred_old"))).toBeNull();
    expect(invoke).toHaveBeenCalledTimes(2);

    finished.resolve(signedIn("cred_new"));
    expect((await done)?.id).toBe("cred_new");
    expect(flow.isWaiting("cred_old")).toBe(false);
    expect(heard).toEqual([["cred_old", "cred_new"]]);
    expect(flow.notices.get("cred_new")).toBe(NO_RENEWAL);
  });

  it("Cancel while the browser is open ends the wait quietly", async () => {
    const flow = new SignInAgain();
    const heard = vi.fn();
    flow.onReplaced(heard);
    const done = flow.start(credential("cred_1"));
    started.resolve("sign-in-1");
    await settle();
    await flow.cancel("cred_1");
    expect(invoke).toHaveBeenCalledWith("cancel_oauth_sign_in", { signInId: "sign-in-1" });
    expect(await done).toBeNull();
    expect(flow.isWaiting("cred_1")).toBe(false);
    expect(heard).not.toHaveBeenCalled();
  });

  it("Cancel while the browser is being opened cancels the sign-in once it has an id", async () => {
    const flow = new SignInAgain();
    const done = flow.start(credential("cred_1"));
    await flow.cancel("cred_1");
    expect(invoke).not.toHaveBeenCalledWith("cancel_oauth_sign_in", expect.anything());
    started.resolve("sign-in-2");
    expect(await done).toBeNull();
    expect(invoke).toHaveBeenCalledWith("cancel_oauth_sign_in", { signInId: "sign-in-2" });
    expect(flow.isWaiting("cred_1")).toBe(false);
  });

  it("a failure is reported to the caller, and the credential can be tried again", async () => {
    const flow = new SignInAgain();
    const done = flow.start(credential("cred_1"));
    started.reject({ code: "sign_in_failed", message: "The sign-in service did not answer.", field: null });
    await expect(done).rejects.toMatchObject({ code: "sign_in_failed" });
    expect(flow.isWaiting("cred_1")).toBe(false);
    // Cancel after the end does nothing.
    await flow.cancel("cred_1");
    expect(invoke).not.toHaveBeenCalledWith("cancel_oauth_sign_in", expect.anything());
  });
});
