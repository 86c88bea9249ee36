import { describe, expect, it } from "vitest";
import { appendCapped, describeState, isActive, upsertSession, withCredentials } from "./sessions.svelte";
import type { Credential, Resolution, ServerActivity, Session } from "./types";

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

function server(upstream_url: string): ServerActivity {
  return { upstream_url, local_url: "http://127.0.0.1:4000/mcp", requests: 2, last_status: 200 };
}

function resolution(id: string, mcp_server_url: string, needs_sign_in = false): Resolution {
  const credential: Credential = {
    id,
    vault_id: "vlt_1",
    mcp_server_url,
    protocol: "streamable_http",
    type: "mcp_oauth",
    header_names: ["Authorization"],
    needs_sign_in,
    wanted_scope: null,
    created_at: "2026-11-26T09:00:00Z",
    last_used_at: null,
  };
  return { credential, vault_position: 0, shadowed_credential_ids: [] };
}

describe("a session's servers with their credentials", () => {
  it("joins each server with the credential for its URL", () => {
    const rows = withCredentials(
      [server("https://a.example/mcp"), server("https://b.example/mcp")],
      [resolution("cred_b", "https://b.example/mcp", true), resolution("cred_a", "https://a.example/mcp")],
    );
    expect(rows.map((row) => [row.upstream_url, row.credential?.id, row.credential?.needs_sign_in])).toEqual([
      ["https://a.example/mcp", "cred_a", false],
      ["https://b.example/mcp", "cred_b", true],
    ]);
    expect(rows[0].requests).toBe(2);
  });

  it("keeps a server whose credential is gone, without one", () => {
    const rows = withCredentials([server("https://a.example/mcp")], [resolution("cred_x", "https://x.example/mcp")]);
    expect(rows).toHaveLength(1);
    expect(rows[0].credential).toBeNull();
    expect(withCredentials([], [resolution("cred_x", "https://x.example/mcp")])).toEqual([]);
  });
});
