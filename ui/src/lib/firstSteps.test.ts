import { describe, expect, it } from "vitest";
import {
  appsWithTokens,
  choosable,
  chosenApps,
  connectPlan,
  endSummary,
  foundApps,
  joinNames,
  nextStep,
  previousStep,
  serverNames,
  stepsFor,
  toggleApp,
  type Plan,
} from "./firstSteps";
import { findFirstVault, FIRST_VAULT } from "./firstVault";
import type { AppConnection, AppStatus, Credential, Vault } from "./types";

function app(id: string, extra: Partial<AppStatus> = {}): AppStatus {
  return {
    app: id,
    name: id[0].toUpperCase() + id.slice(1),
    installed: true,
    config_path: `~/.${id}/mcp.json`,
    connection: null,
    entries: [],
    changed_entries: [],
    pasted_secrets: 0,
    problem: null,
    reloads_by_itself: true,
    import_undoable: false,
    ...extra,
  };
}

function connection(vaultIds: string[]): AppConnection {
  return {
    id: "con_1",
    app: "x",
    environment: "development",
    vault_ids: vaultIds,
    config_path: "/home/ada/x",
    created_at: "2026-11-26T09:00:00Z",
    updated_at: "2026-11-26T09:00:00Z",
    last_used_at: null,
  };
}

function credential(url: string): Credential {
  return {
    id: `crd_${url}`,
    vault_id: "vlt_1",
    mcp_server_url: url,
    protocol: "streamable_http",
    type: "static_bearer",
    header_names: ["Authorization"],
    needs_sign_in: false,
    wanted_scope: null,
    created_at: "2026-11-26T09:00:00Z",
    last_used_at: null,
  };
}

function vault(name: string, environment = "development"): Vault {
  return {
    id: `vlt_${name}_${environment}`,
    display_name: name,
    environment,
    created_at: "2026-11-26T09:00:00Z",
    updated_at: "2026-11-26T09:00:00Z",
    credential_count: 0,
    last_used_at: null,
    team: null,
  };
}

const cursor = app("cursor", { pasted_secrets: 1 });
const zed = app("zed");
const vscode = app("vscode", { installed: false });
const broken = app("codex", { problem: "not valid TOML" });

function plan(extra: Partial<Plan> = {}): Plan {
  return { chosen: [], apps: [cursor, zed, vscode, broken], imported: [], vaultId: null, servers: 0, ...extra };
}

describe("which apps are offered", () => {
  it("lists the apps found on this computer or connected, in the engine's order", () => {
    const connectedElsewhere = app("goose", { installed: false, connection: connection(["vlt_x"]) });
    expect(foundApps([cursor, vscode, zed, connectedElsewhere, broken]).map((a) => a.app)).toEqual([
      "cursor",
      "zed",
      "goose",
      "codex",
    ]);
    expect(foundApps([vscode])).toEqual([]);
  });

  it("shows an app whose settings cannot be read, without offering it", () => {
    expect(choosable(cursor)).toBe(true);
    expect(choosable(broken)).toBe(false);
  });

  it("ticks and unticks in the list's order, each once", () => {
    const found = [cursor, zed];
    let chosen = toggleApp(found, [], "zed", true);
    chosen = toggleApp(found, chosen, "cursor", true);
    expect(chosen).toEqual(["cursor", "zed"]);
    expect(toggleApp(found, chosen, "cursor", true)).toEqual(["cursor", "zed"]);
    expect(toggleApp(found, chosen, "cursor", false)).toEqual(["zed"]);
    // An id that is not in the list is not kept.
    expect(toggleApp(found, chosen, "ghost", true)).toEqual(["cursor", "zed"]);
  });

  it("offers to move tokens only for chosen apps that hold some", () => {
    expect(appsWithTokens(plan({ chosen: ["zed"] }))).toEqual([]);
    expect(appsWithTokens(plan({ chosen: ["zed", "cursor"] })).map((a) => a.app)).toEqual(["cursor"]);
    const unreadable = app("codex", { problem: "bad", pasted_secrets: 2 });
    expect(appsWithTokens({ apps: [unreadable], chosen: ["codex"] })).toEqual([]);
    expect(chosenApps(plan({ chosen: ["zed", "cursor"] })).map((a) => a.app)).toEqual(["cursor", "zed"]);
  });
});

describe("the steps", () => {
  it("are apps, server and done when nothing is chosen", () => {
    expect(stepsFor(plan())).toEqual(["apps", "server", "done"]);
    expect(nextStep("apps", plan())).toBe("server");
    expect(nextStep("server", plan())).toBe("done");
    expect(previousStep("server", plan())).toBe("apps");
  });

  it("add pasted tokens when a chosen app holds some, and connect when an app is chosen", () => {
    const chosen = plan({ chosen: ["cursor"] });
    expect(stepsFor(chosen)).toEqual(["apps", "import", "server", "connect", "done"]);
    expect(nextStep("apps", chosen)).toBe("import");
    expect(nextStep("import", chosen)).toBe("server");
    expect(previousStep("server", chosen)).toBe("import");
    expect(previousStep("import", chosen)).toBe("apps");
    expect(stepsFor(plan({ chosen: ["zed"] }))).toEqual(["apps", "server", "connect", "done"]);
    expect(nextStep("apps", plan({ chosen: ["zed"] }))).toBe("server");
  });

  it("keep the tokens step once tokens moved in, though the app holds none any more", () => {
    const moved = plan({
      chosen: ["cursor"],
      apps: [app("cursor", { connection: connection(["vlt_1"]) })],
      imported: ["cursor"],
      vaultId: "vlt_1",
      servers: 1,
    });
    expect(stepsFor(moved)).toEqual(["apps", "import", "server", "connect", "done"]);
    expect(previousStep("server", moved)).toBe("import");
  });

  it("pass over connect while the vault has no server or every chosen app is connected", () => {
    const noServer = plan({ chosen: ["zed"], vaultId: "vlt_1", servers: 0 });
    expect(nextStep("server", noServer)).toBe("done");
    const noVault = plan({ chosen: ["zed"] });
    expect(nextStep("server", noVault)).toBe("done");
    const toConnect = plan({ chosen: ["zed"], vaultId: "vlt_1", servers: 2 });
    expect(nextStep("server", toConnect)).toBe("connect");
    expect(previousStep("connect", toConnect)).toBe("server");
    const allConnected = plan({
      chosen: ["cursor"],
      apps: [app("cursor", { connection: connection(["vlt_1"]) })],
      imported: ["cursor"],
      vaultId: "vlt_1",
      servers: 2,
    });
    expect(nextStep("server", allConnected)).toBe("done");
  });

  it("have no Back on the first and the last step", () => {
    expect(previousStep("apps", plan())).toBeNull();
    expect(previousStep("done", plan({ chosen: ["zed"] }))).toBeNull();
  });

  it("end at done whatever comes after the last", () => {
    expect(nextStep("done", plan())).toBe("done");
    expect(nextStep("connect", plan({ chosen: ["zed"], vaultId: "vlt_1", servers: 1 }))).toBe("done");
  });
});

describe("connecting", () => {
  it("connects the chosen apps that are not connected, says which are, and leaves the others", () => {
    const apps = [
      app("cursor", { connection: connection(["vlt_1"]) }),
      app("zed"),
      app("goose", { connection: connection(["vlt_other"]) }),
      broken,
      app("claude", { installed: true }),
    ];
    const result = connectPlan({ apps, chosen: ["cursor", "zed", "goose", "codex"], vaultId: "vlt_1" });
    expect(result.connect.map((a) => a.app)).toEqual(["zed"]);
    expect(result.already.map((a) => a.app)).toEqual(["cursor"]);
    expect(result.elsewhere.map((a) => a.app)).toEqual(["goose"]);
  });

  it("without a vault, a connected app is connected elsewhere", () => {
    const apps = [app("cursor", { connection: connection(["vlt_1"]) })];
    expect(connectPlan({ apps, chosen: ["cursor"], vaultId: null }).elsewhere.map((a) => a.app)).toEqual(["cursor"]);
  });
});

describe("words", () => {
  it("joins names as a sentence does", () => {
    expect(joinNames([])).toBe("");
    expect(joinNames(["Cursor"])).toBe("Cursor");
    expect(joinNames(["Cursor", "Zed"])).toBe("Cursor and Zed");
    expect(joinNames(["Cursor", "Zed", "Claude Desktop"])).toBe("Cursor, Zed and Claude Desktop");
  });

  it("names servers by the catalog, else by host, each address once", () => {
    const names = new Map([["https://api.githubcopilot.com/mcp", "GitHub"]]);
    const credentials = [
      credential("https://api.githubcopilot.com/mcp/"),
      credential("https://mcp.linear.app/mcp"),
      credential("https://API.githubcopilot.com/mcp"),
    ];
    expect(serverNames(credentials, names)).toEqual(["GitHub", "mcp.linear.app"]);
    expect(serverNames([], names)).toEqual([]);
  });

  it("says what works now: apps and servers", () => {
    const summary = endSummary({
      connected: [app("cursor", { name: "Cursor" }), app("claude", { name: "Claude Desktop", reloads_by_itself: false })],
      unconnected: [],
      servers: ["GitHub", "Notion"],
      vaultName: "My servers",
    });
    expect(summary.headline).toBe("Cursor and Claude Desktop can use GitHub and Notion.");
    expect(summary.title).toBe("Your apps are connected");
    expect(summary.works).toBe(true);
    expect(summary.restart).toEqual(["Restart Claude Desktop so it loads its new entries."]);
    expect(summary.next.map((n) => n.place)).toEqual(["Vaults"]);
  });

  it("says where the servers are when no app was connected, and where to connect one", () => {
    const summary = endSummary({ connected: [], unconnected: ["Cursor"], servers: ["GitHub"], vaultName: "My servers" });
    expect(summary.headline).toBe("GitHub is in My servers, ready for your agents.");
    expect(summary.restart).toEqual([]);
    expect(summary.next).toEqual([
      { text: "Connect Cursor to a vault: Apps, then Connect.", place: "Apps" },
      { text: "Or run an agent with these servers under Sessions: it never sees a token either.", place: "Sessions" },
    ]);
    const two = endSummary({ connected: [], unconnected: [], servers: ["GitHub", "Linear"], vaultName: null });
    expect(two.headline).toBe("GitHub and Linear are in your vault, ready for your agents.");
    expect(two.next[0].place).toBe("Apps");
  });

  it("says what to do next, and where, when everything was skipped", () => {
    const summary = endSummary({ connected: [], unconnected: [], servers: [], vaultName: null });
    expect(summary.title).toBe("Keybearer is ready");
    expect(summary.works).toBe(false);
    expect(summary.headline).toContain("Nothing is connected yet");
    expect(summary.next.map((n) => n.place)).toEqual(["Vaults", "Apps"]);
    expect(summary.next[0].text).toContain("Add your first server");
  });

  it("names the chosen apps left unconnected even when another is connected", () => {
    const summary = endSummary({
      connected: [app("cursor", { name: "Cursor" })],
      unconnected: ["Zed"],
      servers: ["GitHub"],
      vaultName: "My servers",
    });
    expect(summary.headline).toBe("Cursor can use GitHub.");
    expect(summary.title).toBe("Your app is connected");
    expect(summary.next.map((n) => n.text)).toContain("Connect Zed to a vault: Apps, then Connect.");
  });
});

describe("the first vault", () => {
  it("is found by name, ignoring ASCII case, in its environment only", () => {
    const mine = vault("my SERVERS");
    expect(findFirstVault([vault("GitHub"), mine], "development")).toBe(mine);
    expect(findFirstVault([vault(FIRST_VAULT, "production")], "development")).toBeNull();
    expect(findFirstVault([], "development")).toBeNull();
  });
});
