// Splits a command line typed by the user into arguments the way a POSIX
// shell would for quoting ('single', "double", backslash escapes), without
// expanding anything: `$VAR` stays literal, the agent's shell expands it.

export type SplitResult = { ok: true; args: string[] } | { ok: false; error: string };

export function splitArgs(line: string): SplitResult {
  const args: string[] = [];
  let current = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = null;
      else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) current += line[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      current += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) args.push(current);
      current = "";
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) return { ok: false, error: `A ${quote === "'" ? "single" : "double"} quote is not closed.` };
  if (inWord) args.push(current);
  return { ok: true, args };
}
