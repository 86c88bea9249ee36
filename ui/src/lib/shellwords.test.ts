import { describe, expect, it } from "vitest";
import { splitArgs } from "./shellwords";

describe("splitArgs", () => {
  it("splits on whitespace and keeps quoted words whole", () => {
    expect(splitArgs(`-c "echo hi; sleep 1"  --config {mcp_config}`)).toEqual({
      ok: true,
      args: ["-c", "echo hi; sleep 1", "--config", "{mcp_config}"],
    });
  });

  it("keeps $VAR literal and handles single quotes and escapes", () => {
    expect(splitArgs(`'a b' "x\\"y" c\\ d $HOME ""`)).toEqual({
      ok: true,
      args: ["a b", 'x"y', "c d", "$HOME", ""],
    });
  });

  it("reports an unclosed quote", () => {
    expect(splitArgs(`-c "echo`)).toEqual({ ok: false, error: "A double quote is not closed." });
  });

  it("gives no arguments for a blank line", () => {
    expect(splitArgs("   ")).toEqual({ ok: true, args: [] });
  });
});
