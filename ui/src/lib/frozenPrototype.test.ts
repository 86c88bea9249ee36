import { describe, expect, it } from "vitest";
import { defineInsteadOfAssignToString } from "./frozenPrototype";

describe("defineInsteadOfAssignToString", () => {
  it("works on a namespace object when Object.prototype is frozen", () => {
    const source = `var Qn;(o=>{function s(l){return "k"+l}o.toString=s;})(Qn||={});return Qn.toString(1);`;
    const patched = defineInsteadOfAssignToString(source);
    expect(patched).toContain('Object.defineProperty(o,"toString"');
    // A stand-in for a frozen prototype: toString inherited read-only.
    const frozenBase = Object.freeze({ toString: () => "base" });
    const run = (code: string) =>
      new Function("Qn", `"use strict";${code.replace("var Qn;", "")}`)(Object.create(frozenBase));
    expect(() => run(source)).toThrow(TypeError);
    expect(run(patched)).toBe("k1");
  });

  it("leaves member chains and comparisons alone", () => {
    const code = "a.b.toString=c;x.toString==y;";
    expect(defineInsteadOfAssignToString(code)).toBe(code);
  });
});
