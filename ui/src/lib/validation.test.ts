import { describe, expect, it } from "vitest";
import {
  guessProtocol,
  HEADER_MESSAGES,
  isHexColour,
  isLoopbackHost,
  MAX_HEADERS,
  MAX_TOKEN_BYTES,
  rustTrim,
  TOKEN_MESSAGES,
  URL_MESSAGES,
  validateBasicSecret,
  validateBasicUser,
  validateDisplayName,
  validateEnvironmentName,
  validateHeaderList,
  validateHeaderName,
  validateHeaderValue,
  validatePassphrase,
  validateRecoveryKey,
  validateServerUrl,
  validateToken,
} from "./validation";

function accepted(input: string): string {
  const verdict = validateServerUrl(input);
  if (!verdict.ok) throw new Error(`${input} was rejected: ${verdict.message}`);
  return verdict.normalized;
}

function rejected(input: string): string {
  const verdict = validateServerUrl(input);
  if (verdict.ok) throw new Error(`${input} was accepted as ${verdict.normalized}`);
  return verdict.message;
}

describe("validateServerUrl: normalisation (same results as the engine)", () => {
  it.each([
    ["HTTPS://API.Example.COM:443/MCP", "https://api.example.com/MCP"],
    ["  https://a.example/mcp  ", "https://a.example/mcp"],
    ["\thttps://a.example/mcp\n", "https://a.example/mcp"],
    ["https://a.example", "https://a.example/"],
    ["https://a.example:8443/x/", "https://a.example:8443/x/"],
    ["http://LOCALHOST:80/mcp", "http://localhost/mcp"],
    ["http://127.0.0.2:9000/sse", "http://127.0.0.2:9000/sse"],
    ["http://127.255.255.254/mcp", "http://127.255.255.254/mcp"],
    ["http://[::1]:9000/mcp", "http://[::1]:9000/mcp"],
    ["http://[0:0:0:0:0:0:0:1]/mcp", "http://[::1]/mcp"],
    ["https://api.githubcopilot.com/mcp/", "https://api.githubcopilot.com/mcp/"],
    ["https://bücher.example/mcp", "https://xn--bcher-kva.example/mcp"],
    ["https://a.example/a b", "https://a.example/a%20b"],
    ["https://a.example/x/../mcp", "https://a.example/mcp"],
    ["https://10.0.0.1/mcp", "https://10.0.0.1/mcp"],
    ["https://@a.example/mcp", "https://a.example/mcp"],
  ])("%s -> %s", (input, expected) => {
    expect(accepted(input)).toBe(expected);
  });

  it("keeps a trailing slash significant", () => {
    expect(accepted("https://a.example/x")).not.toBe(accepted("https://a.example/x/"));
  });

  it("accepts exactly 2048 bytes and rejects 2049", () => {
    const base = "https://a.example/";
    expect(accepted(base + "x".repeat(2048 - base.length))).toHaveLength(2048);
    expect(rejected(base + "x".repeat(2049 - base.length))).toBe(URL_MESSAGES.tooLong);
  });

  it("measures length in bytes, like the engine", () => {
    const base = "https://a.example/";
    // 1100 two-byte characters: fewer than 2048 characters, more than 2048 bytes.
    expect(rejected(base + "é".repeat(1100))).toBe(URL_MESSAGES.tooLong);
  });

  it("checks the length after trimming", () => {
    const base = "https://a.example/";
    expect(accepted(`   ${base}${"x".repeat(2048 - base.length)}   `)).toHaveLength(2048);
  });
});

describe("validateServerUrl: rejections", () => {
  it.each([
    ["", URL_MESSAGES.empty],
    ["    ", URL_MESSAGES.empty],
    ["http://example.com/mcp", URL_MESSAGES.plainHttp],
    ["http://10.0.0.1/mcp", URL_MESSAGES.plainHttp],
    ["http://192.168.1.5:8000/mcp", URL_MESSAGES.plainHttp],
    ["http://localhost.example.com/mcp", URL_MESSAGES.plainHttp],
    ["http://foo.localhost/mcp", URL_MESSAGES.plainHttp],
    ["http://[::ffff:127.0.0.1]/mcp", URL_MESSAGES.plainHttp],
    ["http://128.0.0.1/mcp", URL_MESSAGES.plainHttp],
    ["ftp://example.com", URL_MESSAGES.unsupportedScheme("ftp")],
    ["ws://example.com/mcp", URL_MESSAGES.unsupportedScheme("ws")],
    ["file:///etc/passwd", URL_MESSAGES.unsupportedScheme("file")],
    ["javascript:alert(1)", URL_MESSAGES.unsupportedScheme("javascript")],
    ["https://user:pw@example.com/", URL_MESSAGES.userinfo],
    ["https://user@example.com/", URL_MESSAGES.userinfo],
    ["https://:pw@example.com/", URL_MESSAGES.userinfo],
    ["http://user@localhost/mcp", URL_MESSAGES.userinfo],
    ["https://example.com/mcp?x=1", URL_MESSAGES.query],
    ["https://example.com/mcp?", URL_MESSAGES.query],
    ["https://example.com/mcp?#", URL_MESSAGES.query],
    ["https://example.com/mcp#top", URL_MESSAGES.fragment],
    ["https://example.com/mcp#", URL_MESSAGES.fragment],
    ["https://example.com/mcp#a?b", URL_MESSAGES.fragment],
    ["not a url", URL_MESSAGES.notAUrl],
    ["https://", URL_MESSAGES.notAUrl],
    ["https://exa mple.com/", URL_MESSAGES.notAUrl],
    ["example.com/mcp", URL_MESSAGES.missingScheme],
    ["mcp.example.com", URL_MESSAGES.missingScheme],
    ["localhost:8000/mcp", URL_MESSAGES.missingScheme],
  ])("%j is rejected", (input, message) => {
    expect(rejected(input)).toBe(message);
  });

  it("says https is required in the message for plain http", () => {
    expect(rejected("http://example.com/mcp")).toContain("https");
  });

  it("rejects a very long address without quoting it", () => {
    const long = `https://a.example/${"x".repeat(3000)}`;
    const message = rejected(long);
    expect(message).toBe(URL_MESSAGES.tooLong);
    expect(message).not.toContain("xxxx");
  });
});

describe("isLoopbackHost", () => {
  it.each(["localhost", "127.0.0.1", "127.1.2.3", "[::1]"])("%s is this computer", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  it.each(["example.com", "128.0.0.1", "10.127.0.1", "[::2]", "localhost.", "127.example"])(
    "%s is not",
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

describe("guessProtocol", () => {
  it.each([
    ["https://a.example/sse", "sse"],
    ["https://a.example/v1/SSE/", "sse"],
    ["https://a.example/sse//", "sse"],
    ["http://127.0.0.1:9000/sse", "sse"],
    ["https://a.example/mcp", "streamable_http"],
    ["https://a.example/", "streamable_http"],
    ["https://a.example/ssem", "streamable_http"],
    ["https://a.example/mysse", "streamable_http"],
    ["https://sse.example/mcp", "streamable_http"],
    ["https://a.example/sse/messages", "streamable_http"],
    ["not a url", "streamable_http"],
    ["", "streamable_http"],
  ])("%s -> %s", (url, protocol) => {
    expect(guessProtocol(url)).toBe(protocol);
  });
});

describe("validateToken", () => {
  // Looks like a real token so that a message quoting it would be caught.
  const secret = "ghp_S3cr3tT0kenValue0123456789abcdef";

  it("accepts a plain ASCII bearer token", () => {
    expect(validateToken(secret)).toBeNull();
    expect(validateToken("a")).toBeNull();
    expect(validateToken("eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo")).toBeNull();
    expect(validateToken("!#$%&'*+-.^_`|~=/")).toBeNull();
  });

  it("accepts exactly 16 KiB and rejects one byte more", () => {
    expect(validateToken("a".repeat(MAX_TOKEN_BYTES))).toBeNull();
    expect(validateToken("a".repeat(MAX_TOKEN_BYTES + 1))).toBe(TOKEN_MESSAGES.tooLong);
  });

  it.each([
    ["empty", "", TOKEN_MESSAGES.empty],
    ["line feed", `${secret}\n`, TOKEN_MESSAGES.lineBreak],
    ["carriage return", `${secret}\r`, TOKEN_MESSAGES.lineBreak],
    ["line break in the middle", `ghp_abc\r\ndef`, TOKEN_MESSAGES.lineBreak],
    ["space", `Bearer ${secret}`, TOKEN_MESSAGES.whitespace],
    ["leading space", ` ${secret}`, TOKEN_MESSAGES.whitespace],
    ["tab", `${secret}\t`, TOKEN_MESSAGES.whitespace],
    ["no-break space", `${secret}\u00a0`, TOKEN_MESSAGES.whitespace],
    ["ideographic space", `${secret}\u3000`, TOKEN_MESSAGES.whitespace],
    ["line separator", `${secret}\u2028`, TOKEN_MESSAGES.whitespace],
    ["NUL", `${secret}\u0000`, TOKEN_MESSAGES.whitespace],
    ["DEL", `${secret}\u007f`, TOKEN_MESSAGES.whitespace],
    ["next line (C1 control)", `${secret}\u0085`, TOKEN_MESSAGES.whitespace],
    ["accented letter", `${secret}é`, TOKEN_MESSAGES.nonAscii],
    ["emoji", `${secret}🔑`, TOKEN_MESSAGES.nonAscii],
    ["zero-width space", `${secret}\u200b`, TOKEN_MESSAGES.nonAscii],
    ["byte order mark", `\ufeff${secret}`, TOKEN_MESSAGES.nonAscii],
    ["too long multibyte", "é".repeat(MAX_TOKEN_BYTES / 2 + 1), TOKEN_MESSAGES.tooLong],
  ])("rejects a token with %s", (_name, token, message) => {
    expect(validateToken(token)).toBe(message);
  });

  it("never puts the token or a piece of it in a message", () => {
    const bad = [
      `${secret}\n`,
      `${secret} x`,
      `${secret}é`,
      secret.repeat(500),
    ];
    for (const token of bad) {
      const message = validateToken(token);
      expect(message).not.toBeNull();
      expect(message).not.toContain(secret);
      expect(message).not.toContain(secret.slice(0, 8));
      expect(message).not.toContain("S3cr3t");
    }
  });

  it("has messages that never quote anything", () => {
    for (const message of Object.values(TOKEN_MESSAGES)) {
      expect(message).not.toMatch(/["“”]/);
    }
  });
});

describe("names and colours", () => {
  it("accepts names of 1 to 200 characters, trimmed", () => {
    expect(validateDisplayName("GitHub")).toBeNull();
    expect(validateDisplayName("  GitHub  ")).toBeNull();
    expect(validateDisplayName("Robert'); DROP TABLE vaults;--")).toBeNull();
    expect(validateDisplayName("é".repeat(200))).toBeNull();
    expect(validateDisplayName("🔑".repeat(200))).toBeNull();
  });

  it("rejects empty, too long and control characters", () => {
    expect(validateDisplayName("")).toMatch(/empty/);
    expect(validateDisplayName("   ")).toMatch(/empty/);
    expect(validateDisplayName("é".repeat(201))).toMatch(/200/);
    expect(validateDisplayName("a\u0007b")).toMatch(/control/);
  });

  it("keeps environment names simple", () => {
    expect(validateEnvironmentName("qa")).toBeNull();
    expect(validateEnvironmentName("EU-Prod")).toBeNull();
    expect(validateEnvironmentName("eu_prod_2")).toBeNull();
    expect(validateEnvironmentName("two words")).toMatch(/letters, digits/);
    expect(validateEnvironmentName("prod/eu")).toMatch(/letters, digits/);
    expect(validateEnvironmentName("é")).toMatch(/letters, digits/);
    expect(validateEnvironmentName("a".repeat(41))).toMatch(/at most 40/);
    expect(validateEnvironmentName("")).toMatch(/empty/);
  });

  it("accepts #rrggbb colours only", () => {
    expect(isHexColour("#1e88e5")).toBe(true);
    expect(isHexColour("#1E88E5")).toBe(true);
    expect(isHexColour(" #1e88e5 ")).toBe(true);
    expect(isHexColour("#fff")).toBe(false);
    expect(isHexColour("blue")).toBe(false);
    expect(isHexColour("#1e88e5; background: url(x)")).toBe(false);
  });
});

describe("validatePassphrase", () => {
  it("needs at least 10 characters", () => {
    expect(validatePassphrase("short", "short").passphrase).toMatch(/at least 10/);
    expect(validatePassphrase("0123456789", "0123456789")).toEqual({
      passphrase: null,
      confirmation: null,
    });
  });

  it("counts characters, not bytes", () => {
    expect(validatePassphrase("ééééé", "ééééé").passphrase).not.toBeNull();
  });

  it("needs the confirmation to match", () => {
    expect(validatePassphrase("correct horse", "correct house").confirmation).toMatch(/not the same/);
  });

  it("never quotes the passphrase", () => {
    const result = validatePassphrase("hunter2", "hunter3");
    expect(JSON.stringify(result)).not.toContain("hunter");
  });
});

describe("validateRecoveryKey", () => {
  const key = "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567";

  it("accepts the key as shown and as typed loosely", () => {
    expect(validateRecoveryKey(key)).toBeNull();
    expect(validateRecoveryKey(key.toLowerCase())).toBeNull();
    expect(validateRecoveryKey(key.replace(/-/g, " "))).toBeNull();
    expect(validateRecoveryKey(key.replace(/-/g, ""))).toBeNull();
    expect(validateRecoveryKey(` ${key}\n`)).toBeNull();
  });

  it("reads 0, 1 and 8 as O, I and B", () => {
    expect(validateRecoveryKey("aaaa-8888-1111-0000-aaaa-bbbb-cccc-dddd")).toBeNull();
  });

  it("rejects empty, short and foreign input", () => {
    expect(validateRecoveryKey("")).toMatch(/Enter/);
    expect(validateRecoveryKey("ABCD-EFGH")).toMatch(/does not look like/);
    expect(validateRecoveryKey(`${key}-AAAA`)).toMatch(/does not look like/);
    expect(validateRecoveryKey(key.replace("A", "9"))).toMatch(/does not look like/);
  });
});

// The same cases as crates/vault/src/credential_secret.rs's tests, with
// the engine's messages word for word.
describe("header credentials", () => {
  it("accepts header names the way the engine does", () => {
    for (const name of ["X-API-Key", "x-org", "Authorization", " X-Trimmed ", "X_Weird.Name~1"]) {
      expect(validateHeaderName(name), name).toBeNull();
    }
  });

  it("refuses empty and invalid names, and the headers Keybearer sets itself", () => {
    expect(validateHeaderName("")).toBe(HEADER_MESSAGES.emptyName);
    expect(validateHeaderName("   ")).toBe(HEADER_MESSAGES.emptyName);
    expect(validateHeaderName("bad name")).toBe(
      '"bad name" is not a valid header name: use letters, digits and dashes, like X-API-Key.',
    );
    expect(validateHeaderName("Ä")).toBe(HEADER_MESSAGES.badName("Ä"));
    expect(validateHeaderName("X-Key:")).toBe(HEADER_MESSAGES.badName("X-Key:"));
    for (const name of ["Host", "content-type", "Content-Length", "Transfer-Encoding", "Mcp-Session-Id", "MCP-Protocol-Version", "Accept", "Last-Event-ID", "Proxy-Authorization"]) {
      expect(validateHeaderName(name), name).toBe(
        `Keybearer sets the "${name}" header itself, so a credential cannot. Check which header your server expects.`,
      );
    }
  });

  it("checks values without ever quoting them", () => {
    expect(validateHeaderValue("X-API-Key", "abc 123\tx")).toBeNull();
    expect(validateHeaderValue("X-API-Key", "")).toBe(
      "The value of X-API-Key is empty. Paste it from your server's settings.",
    );
    expect(validateHeaderValue("X-API-Key", "   ")).toBe(HEADER_MESSAGES.emptyValue("X-API-Key"));
    expect(validateHeaderValue("X-API-Key", "line\nbreak")).toBe(
      "The value of X-API-Key contains a line break. Paste it as a single line.",
    );
    expect(validateHeaderValue("X-API-Key", "x".repeat(MAX_TOKEN_BYTES + 1))).toBe(
      "The value of X-API-Key is longer than 16 KiB; check what you pasted.",
    );
    for (const value of [" padded", "padded ", "tök", "zero\u200bwidth"]) {
      const problem = validateHeaderValue(" X-API-Key ", value);
      expect(problem).toBe(
        "The value of X-API-Key has spaces at its ends or characters an HTTP header cannot carry (only plain ASCII). Copy it again.",
      );
      expect(problem).not.toContain(value.trim());
    }
    expect(validateHeaderValue("", "")).toBe(HEADER_MESSAGES.emptyValue("this header"));
  });

  it("needs one to eight headers, each name once (ignoring case)", () => {
    expect(validateHeaderList([])).toBe("Add at least one header.");
    expect(validateHeaderList(["X-API-Key", "X-Org"])).toBeNull();
    expect(validateHeaderList(Array.from({ length: MAX_HEADERS }, (_, i) => `X-${i}`))).toBeNull();
    expect(validateHeaderList(Array.from({ length: MAX_HEADERS + 1 }, (_, i) => `X-${i}`))).toBe(
      "A credential can send at most 8 headers.",
    );
    expect(validateHeaderList(["X-API-Key", " x-api-key"])).toBe(
      "The header x-api-key is listed twice. List each header once.",
    );
    expect(validateHeaderList(["", ""])).toBeNull();
  });

  it("checks HTTP Basic's user name and secret", () => {
    expect(validateBasicUser("ada@example.com")).toBeNull();
    expect(validateBasicUser(" ada ")).toBeNull();
    for (const user of ["", "  ", "a:b", "ada\u0007"]) {
      expect(validateBasicUser(user), user).toBe(
        "Type the user name (for Atlassian: your e-mail address); it cannot contain a colon.",
      );
    }
    expect(validateBasicSecret("open sesame")).toBeNull();
    expect(validateBasicSecret("")).toBe(
      "The password or API token is empty or has a line break. Paste it as one line.",
    );
    expect(validateBasicSecret("a\nb")).toBe(HEADER_MESSAGES.basicSecret);
  });

  it("trims like Rust, not like JavaScript", () => {
    expect(rustTrim("\u00a0 x \u3000")).toBe("x");
    // A byte-order mark is not Unicode White_Space: Rust keeps it, so the value is refused as non-ASCII.
    expect(rustTrim("\ufeffx")).toBe("\ufeffx");
    expect(validateHeaderValue("X-Key", "\ufeff")).toBe(HEADER_MESSAGES.badValue("X-Key"));
  });
});
