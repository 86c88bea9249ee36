import { describe, expect, it } from "vitest";
import {
  generalMessage,
  INTERNAL,
  isKeychainProblem,
  isSessionLost,
  messageFor,
  redact,
  toIpcError,
} from "./errors";
import type { IpcError } from "./types";

describe("toIpcError", () => {
  it("keeps an engine error as it is", () => {
    const raw = { code: "duplicate_url", message: "Already there.", field: "mcp_server_url" };
    expect(toIpcError(raw)).toEqual(raw);
  });

  it("treats a missing or empty field as null", () => {
    expect(toIpcError({ code: "io", message: "Disk full." }).field).toBeNull();
    expect(toIpcError({ code: "io", message: "Disk full.", field: "" }).field).toBeNull();
  });

  it("gives field-less errors the one field their code can mean", () => {
    expect(toIpcError({ code: "duplicate_url", message: "Already there." }).field).toBe("mcp_server_url");
    expect(toIpcError({ code: "duplicate_environment", message: "x", field: null }).field).toBe("environment");
    expect(toIpcError({ code: "duplicate_vault", message: "x" }).field).toBe("display_name");
    expect(toIpcError({ code: "wrong_recovery_key", message: "x" }).field).toBe("recovery_key");
    expect(toIpcError({ code: "wrong_passphrase", message: "x" }).field).toBe("passphrase");
    expect(toIpcError({ code: "duplicate_url", message: "x", field: "other" }).field).toBe("other");
  });

  it("wraps strings and Errors from the IPC layer", () => {
    expect(toIpcError("command add_credential not found")).toEqual({
      code: INTERNAL,
      message: "command add_credential not found",
      field: null,
    });
    expect(toIpcError(new TypeError("boom"))).toMatchObject({ code: INTERNAL, message: "boom" });
  });

  it("has a message for anything else", () => {
    for (const raw of [undefined, null, 42, {}, "", { code: 1, message: 2 }]) {
      expect(toIpcError(raw).message).toBe("Something went wrong.");
    }
  });

  it("masks the secrets sent with the call wherever they appear", () => {
    const token = "ghp_S3cr3tT0kenValue";
    const raw = `invalid args \`accessToken\` for command \`add_credential\`: "${token}" ${token}`;
    const error = toIpcError(raw, [token]);
    expect(error.message).not.toContain(token);
    expect(error.message).toContain("••••");
    expect(toIpcError({ code: "x", message: `no ${token}`, field: null }, [token]).message).toBe("no ••••");
  });
});

describe("redact", () => {
  it("leaves messages without the secret alone", () => {
    expect(redact("That passphrase is not correct.", ["hunter2hunter2"])).toBe(
      "That passphrase is not correct.",
    );
  });

  it("ignores empty and very short values", () => {
    expect(redact("a message", ["", "a"])).toBe("a message");
  });
});

describe("field helpers", () => {
  const error: IpcError = { code: "invalid_input", message: "Bad URL.", field: "mcp_server_url" };

  it("gives the message to its field only", () => {
    expect(messageFor(error, "mcp_server_url")).toBe("Bad URL.");
    expect(messageFor(error, "access_token")).toBeNull();
    expect(messageFor(null, "access_token")).toBeNull();
  });

  it("shows errors of other fields above the form", () => {
    expect(generalMessage(error, ["mcp_server_url", "access_token"])).toBeNull();
    expect(generalMessage(error, ["display_name"])).toBe("Bad URL.");
    expect(generalMessage({ code: "io", message: "Disk full.", field: null }, ["display_name"])).toBe(
      "Disk full.",
    );
  });
});

describe("classification", () => {
  it("knows when the vault has to be opened again", () => {
    expect(isSessionLost({ code: "recovery_needed", message: "", field: null })).toBe(true);
    expect(isSessionLost({ code: "passphrase_required", message: "", field: null })).toBe(true);
    expect(isSessionLost({ code: "duplicate_url", message: "", field: null })).toBe(false);
  });

  it("knows keychain problems", () => {
    expect(isKeychainProblem({ code: "keychain_locked", message: "", field: null })).toBe(true);
    expect(isKeychainProblem({ code: "keychain_unavailable", message: "", field: null })).toBe(true);
    expect(isKeychainProblem({ code: "wrong_passphrase", message: "", field: null })).toBe(false);
  });
});
