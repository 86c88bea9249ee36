import { describe, expect, it } from "vitest";
import { routeFor, routeForUnlockError } from "./boot";
import type { ErrorCode, Status } from "./types";

const status = (changes: Partial<Status>): Status => ({
  data_dir: "/home/ada/.local/share/keybearer",
  keychain_account: "install-1",
  initialized: true,
  protection: "keychain",
  keychain: { state: "available", has_key: true },
  unlocked: false,
  recovery_needed: false,
  active_environment: "development",
  vaults: 0,
  credentials: 0,
  schema_version: 1,
  ...changes,
});

describe("routeFor", () => {
  it("starts setup when nothing is set up", () => {
    expect(routeFor(status({ initialized: false, protection: null }))).toBe("first-run");
  });

  it("asks for the recovery key before anything else", () => {
    expect(routeFor(status({ recovery_needed: true }))).toBe("recover");
    expect(routeFor(status({ recovery_needed: true, unlocked: true }))).toBe("recover");
  });

  it("goes to the main screen when unlocked", () => {
    expect(routeFor(status({ unlocked: true }))).toBe("main");
  });

  it("asks for the passphrase or tries the keychain", () => {
    expect(routeFor(status({ protection: "passphrase" }))).toBe("unlock");
    expect(routeFor(status({ protection: "keychain" }))).toBe("unlock-keychain");
    expect(
      routeFor(status({ keychain: { state: "locked", detail: "locked" } })),
    ).toBe("unlock-keychain");
  });
});

describe("routeForUnlockError", () => {
  const error = (code: ErrorCode) => ({ code, message: "", field: null });

  it.each<[ErrorCode, string]>([
    ["keychain_locked", "keychain-problem"],
    ["keychain_unavailable", "keychain-problem"],
    ["recovery_needed", "recover"],
    ["passphrase_required", "unlock"],
    ["not_initialized", "first-run"],
    ["integrity", "error"],
    ["database", "error"],
  ])("%s -> %s", (code, route) => {
    expect(routeForUnlockError(error(code))).toBe(route);
  });
});
