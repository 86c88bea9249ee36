// The first-run path's logic (screens/FirstSteps.svelte; docs/architecture.md,
// "First steps"): which apps it offers, which steps a person's choices make,
// where Next and Back go, what is left to connect, and the last screen's
// words. Pure functions over what the engine answered; the engine decides
// (and re-checks) everything itself.
import { addressKey, serverName } from "./catalog";
import { hostOf } from "./format";
import type { AppStatus, Credential, ImportOutcome } from "./types";

export type Step = "apps" | "import" | "server" | "connect" | "done";

/** Short, so the five fit on one line. */
export const STEP_LABELS: Record<Step, string> = {
  apps: "Apps",
  import: "Tokens",
  server: "Server",
  connect: "Connect",
  done: "Done",
};

/** What one import of the path did, and the vault the tokens went to. */
export type Imported = { outcome: ImportOutcome; vaultName: string };

/** What the steps depend on: the person's choices and the engine's latest answers. */
export type Plan = {
  /** The apps the person said they use (ids). */
  chosen: readonly string[];
  /** Every app as the engine last listed it. */
  apps: readonly AppStatus[];
  /** The apps whose pasted tokens this path moved in (ids). */
  imported: readonly string[];
  /** The vault the path keeps servers in, once there is one. */
  vaultId: string | null;
  /** How many credentials that vault holds. */
  servers: number;
};

/** The apps found on this computer (settings or program there, or already connected), in the engine's order. */
export function foundApps(apps: readonly AppStatus[]): AppStatus[] {
  return apps.filter((app) => app.installed || app.connection !== null);
}

/** An app whose settings cannot be read cannot be connected or imported from: it is shown, not offered. */
export function choosable(app: AppStatus): boolean {
  return app.problem === null;
}

/** Ticks or unticks an app, keeping the engine's order of the found apps. */
export function toggleApp(found: readonly AppStatus[], chosen: readonly string[], id: string, on: boolean): string[] {
  const next = new Set(chosen);
  if (on) next.add(id);
  else next.delete(id);
  return found.filter((app) => next.has(app.app)).map((app) => app.app);
}

/** The chosen apps as the engine last listed them, in its order. */
export function chosenApps(plan: Pick<Plan, "apps" | "chosen">): AppStatus[] {
  return plan.apps.filter((app) => plan.chosen.includes(app.app));
}

/** The chosen apps whose settings still hold pasted tokens. */
export function appsWithTokens(plan: Pick<Plan, "apps" | "chosen">): AppStatus[] {
  return chosenApps(plan).filter((app) => app.pasted_secrets > 0 && choosable(app));
}

export type ConnectPlan = {
  /** Not connected yet: the connect step connects them to the vault. */
  connect: AppStatus[];
  /** Already connected to the vault (the import does that). */
  already: AppStatus[];
  /** Connected to other vaults only: left as they are (the Apps screen changes them). */
  elsewhere: AppStatus[];
};

/** What connecting the chosen apps to the path's vault would do. */
export function connectPlan(plan: Pick<Plan, "apps" | "chosen" | "vaultId">): ConnectPlan {
  const result: ConnectPlan = { connect: [], already: [], elsewhere: [] };
  for (const app of chosenApps(plan)) {
    if (!choosable(app)) continue;
    if (app.connection === null) result.connect.push(app);
    else if (plan.vaultId !== null && app.connection.vault_ids.includes(plan.vaultId)) result.already.push(app);
    else result.elsewhere.push(app);
  }
  return result;
}

/**
 * The steps this plan shows, in order. "Pasted tokens" only when a chosen
 * app holds some (or this path moved some in); "Connect" only when an app
 * was chosen.
 */
export function stepsFor(plan: Plan): Step[] {
  const steps: Step[] = ["apps"];
  if (plan.imported.length > 0 || appsWithTokens(plan).length > 0) steps.push("import");
  steps.push("server");
  if (plan.chosen.length > 0) steps.push("connect");
  steps.push("done");
  return steps;
}

/** Whether a step has anything to do now; one that has not is passed over. */
function needed(step: Step, plan: Plan): boolean {
  if (step !== "connect") return true;
  return plan.vaultId !== null && plan.servers > 0 && connectPlan(plan).connect.length > 0;
}

/** The step after `current` (Continue or Skip). */
export function nextStep(current: Step, plan: Plan): Step {
  const steps = stepsFor(plan);
  const at = steps.indexOf(current);
  for (const step of steps.slice(at + 1)) if (needed(step, plan)) return step;
  return "done";
}

/** The step Back goes to, or null where there is none (the first step, the last). */
export function previousStep(current: Step, plan: Plan): Step | null {
  if (current === "apps" || current === "done") return null;
  const steps = stepsFor(plan);
  const at = steps.indexOf(current);
  if (at <= 0) return "apps";
  for (const step of steps.slice(0, at).reverse()) if (needed(step, plan)) return step;
  return "apps";
}

/** "Cursor", "Cursor and Zed", "Cursor, Zed and Claude Desktop". */
export function joinNames(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? "";
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** The servers of these credentials by name (the catalog's, else the host), each address once. */
export function serverNames(credentials: readonly Credential[], names: ReadonlyMap<string, string>): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const credential of credentials) {
    const key = addressKey(credential.mcp_server_url) ?? credential.mcp_server_url;
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(serverName(names, credential.mcp_server_url) ?? hostOf(credential.mcp_server_url));
  }
  return result;
}

/** Somewhere in the window the last screen points to. */
export type Place = "Vaults" | "Apps" | "Sessions";

export type NextThing = { text: string; place: Place };

export type EndSummary = {
  title: string;
  /** Something works now (a server, maybe apps); false when everything was skipped. */
  works: boolean;
  /** What now works, or that nothing is set up yet. */
  headline: string;
  /** Restarts an app needs before it sees its new entries. */
  restart: string[];
  /** What is left, and where it is done. */
  next: NextThing[];
};

export type EndInput = {
  /**
   * The apps connected to the path's vault, as the engine lists them now
   * (at first run every connection is this path's, so each got new entries).
   */
  connected: readonly AppStatus[];
  /** The chosen apps left unconnected (skipped, or connected elsewhere). */
  unconnected: readonly string[];
  /** The vault's servers by name. */
  servers: readonly string[];
  vaultName: string | null;
};

/**
 * The last screen: what works now in plain words ("Cursor and Claude
 * Desktop can use GitHub and Notion."), the restarts that takes, and what
 * the person skipped, with where to do it later.
 */
export function endSummary(input: EndInput): EndSummary {
  const apps = input.connected.map((app) => app.name);
  const servers = joinNames(input.servers);
  const next: NextThing[] = [];
  let title: string;
  let headline: string;
  if (apps.length > 0 && input.servers.length > 0) {
    title = apps.length === 1 ? "Your app is connected" : "Your apps are connected";
    headline = `${joinNames(apps)} can use ${servers}.`;
  } else if (input.servers.length > 0) {
    title = "Your servers are in";
    headline = `${servers} ${input.servers.length === 1 ? "is" : "are"} in ${input.vaultName ?? "your vault"}, ready for your agents.`;
  } else {
    title = "Keybearer is ready";
    headline = "Nothing is connected yet, and that is fine: here is where to do it when you want.";
  }
  if (input.servers.length === 0) {
    next.push({ text: "Add your first server, such as GitHub or Notion: Vaults, then Add your first server.", place: "Vaults" });
  }
  if (input.unconnected.length > 0) {
    next.push({ text: `Connect ${joinNames(input.unconnected)} to a vault: Apps, then Connect.`, place: "Apps" });
  } else if (apps.length === 0) {
    next.push({ text: "Connect the AI apps you use (Claude Desktop, Cursor, VS Code…): Apps, then Connect.", place: "Apps" });
  }
  if (input.servers.length > 0 && apps.length === 0) {
    next.push({ text: "Or run an agent with these servers under Sessions: it never sees a token either.", place: "Sessions" });
  } else if (input.servers.length > 0) {
    next.push({ text: "Add more servers on the Vaults page; connected apps get them too.", place: "Vaults" });
  }
  return {
    title,
    works: input.servers.length > 0,
    headline,
    restart: input.connected
      .filter((app) => !app.reloads_by_itself)
      .map((app) => `Restart ${app.name} so it loads its new entries.`),
    next,
  };
}
