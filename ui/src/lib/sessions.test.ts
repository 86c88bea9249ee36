import { describe, expect, it } from "vitest";
import { appendCapped, describeState, isActive, upsertSession } from "./sessions.svelte";
import type { Session } from "./types";

function session(id: string, state: Partial<Session> = {}): Session {
  return {
    id,
    vault_ids: ["vlt_1"],
    environment: "development",
    agent: "custom",
    program: "/bin/sh",
    working_dir: "/tmp",
    injection: "proxy",
    pid: 42,
    signal: null,
    started_at: "2026-11-26T09:00:00Z",
    ended_at: null,
    state: "running",
    ...state,
  } as Session;
}

describe("session helpers", () => {
  it("keeps only the tail of the output", () => {
    expect(appendCapped("abc", "def", 4)).toBe("cdef");
    expect(appendCapped("a", "b", 4)).toBe("ab");
  });

  it("replaces a known session in place and puts a new one first", () => {
    const list = [session("a"), session("b")];
    const stopped = session("b", { state: "stopped" });
    expect(upsertSession(list, stopped).map((s) => [s.id, s.state])).toEqual([
      ["a", "running"],
      ["b", "stopped"],
    ]);
    expect(upsertSession(list, session("c")).map((s) => s.id)).toEqual(["c", "a", "b"]);
  });

  it("describes states in plain words", () => {
    expect(describeState(session("a", { state: "exited", code: 3 } as Partial<Session>))).toBe("exited (3)");
    expect(describeState(session("a", { state: "failed", reason: "no agent" } as Partial<Session>))).toBe(
      "failed: no agent",
    );
    expect(describeState(session("a", { state: "stopped" }))).toBe("stopped");
    expect(isActive(session("a"))).toBe(true);
    expect(isActive(session("a", { state: "stopped" }))).toBe(false);
  });
});
