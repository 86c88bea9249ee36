// A real MCP client on the official TypeScript SDK v2 (@modelcontextprotocol/client)
// that spawns COMMAND (e.g. `keybearer bridge ...`) and talks MCP over its stdio.
//
//     node client.mjs [--tool NAME] [--args JSON] [--list-tools]
//                     [--negotiation auto|legacy|2026-07-28] [--timeout SECONDS] -- COMMAND ARGS...
//
// --negotiation is the SDK's `versionNegotiation.mode`: `legacy` (the default
// here and in the SDK) runs the plain 2025 `initialize` handshake; `auto`
// probes `server/discover` first and falls back to `initialize`; a version
// pins that modern revision (`{ pin: '2026-07-28' }`: discover must offer it).
// With `auto` the SDK runs the probe on a short-lived SIBLING process spawned
// from the same command (stderr discarded), then spawns COMMAND again for the
// session: COMMAND runs twice.
//
// COMMAND gets this process's whole environment (the SDK's default passes only
// HOME, PATH, ...). Prints one JSON line
// {"ok":true,"result":TEXT,"protocol_version":V,"server":NAME}, or
// {"ok":false,"error":MESSAGE} and exits 1.

import { parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

function fail(message) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: message })}\n`);
    process.exit(1);
}

let parsed;
try {
    parsed = parseArgs({
        allowPositionals: true,
        options: {
            tool: { type: 'string', default: 'echo' },
            args: { type: 'string' },
            'list-tools': { type: 'boolean', default: false },
            negotiation: { type: 'string', default: 'legacy' },
            timeout: { type: 'string', default: '20' },
            help: { type: 'boolean', short: 'h', default: false }
        }
    });
} catch (error) {
    fail(error.message);
}
const { values: opts, positionals: command } = parsed;
if (opts.help) {
    process.stdout.write(
        'usage: node client.mjs [--tool NAME] [--args JSON] [--list-tools] [--negotiation auto|legacy|2026-07-28] -- COMMAND ARGS...\n'
    );
    process.exit(0);
}
if (command.length === 0) fail('give the command to spawn after --');

let mode;
if (opts.negotiation === 'legacy' || opts.negotiation === 'auto') mode = opts.negotiation;
else if (/^\d{4}-\d{2}-\d{2}$/.test(opts.negotiation)) mode = { pin: opts.negotiation };
else fail(`--negotiation must be auto, legacy or a protocol version, not ${opts.negotiation}`);

let toolArgs;
try {
    toolArgs = opts.args ? JSON.parse(opts.args) : opts.tool === 'echo' ? { text: 'hello' } : {};
} catch (error) {
    fail(`--args is not JSON: ${error.message}`);
}
const timeoutMs = Number(opts.timeout) * 1000;

const transport = new StdioClientTransport({
    command: command[0],
    args: command.slice(1),
    // Every variable, not the SDK's short safe list: the bridge needs its
    // KEYBEARER_*, XDG_* and D-Bus variables to find the vault and the keyring.
    env: Object.fromEntries(Object.entries(process.env).filter(([, value]) => value !== undefined)),
    stderr: 'inherit'
});
const client = new Client({ name: 'keybearer-test-client-ts', version: '1.0.0' }, { versionNegotiation: { mode } });

const timer = setTimeout(() => fail(`timed out after ${opts.timeout}s`), timeoutMs);

async function run() {
    await client.connect(transport, { timeout: timeoutMs });
    const out = { ok: true };
    if (opts['list-tools']) {
        const listing = await client.listTools();
        out.tools = listing.tools.map(tool => tool.name);
    } else {
        const result = await client.callTool({ name: opts.tool, arguments: toolArgs }, { timeout: timeoutMs });
        const text = (result.content ?? []).map(block => (block.type === 'text' ? block.text : '')).join('');
        if (result.isError) throw new Error(`tool ${opts.tool} failed: ${text}`);
        out.result = text;
    }
    out.protocol_version = client.getNegotiatedProtocolVersion() ?? null;
    out.server = client.getServerVersion()?.name ?? null;
    return out;
}

let out;
try {
    out = await run();
} catch (error) {
    clearTimeout(timer);
    await client.close().catch(() => {});
    fail((error?.message ?? String(error)).split('\n')[0]);
}
clearTimeout(timer);
await client.close().catch(() => {});
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
