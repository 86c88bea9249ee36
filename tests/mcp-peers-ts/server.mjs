// A real MCP server on the official TypeScript SDK v2 (@modelcontextprotocol/server),
// serving Streamable HTTP for protocol revision 2026-07-28, stateless, and
// demanding `Authorization: Bearer <token>`.
//
//     MCP_TEST_TOKEN=secret node server.mjs [--port 0] [--lenient]
//
// Strict by default: a 2025-era request (an `initialize` handshake, or any
// request without the 2026-07-28 `_meta` envelope) is answered 400 with
// JSON-RPC error -32022 "Unsupported protocol version". That is the SDK's own
// `createMcpHandler(factory, { legacy: 'reject' })`; `--lenient` uses
// `legacy: 'stateless'` instead, which also serves 2025 clients statelessly.
//
// The accepted token comes from MCP_TEST_TOKEN_FILE (re-read on every request)
// or else MCP_TEST_TOKEN; never from argv, and it is never logged. Prints one
// line {"url":"http://127.0.0.1:PORT/mcp"} on stdout once listening, then one
// stderr line per request. Stop it with SIGTERM.

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer, OAuthError, OAuthErrorCode, requireBearerAuth } from '@modelcontextprotocol/server';
import * as z from 'zod';

const SERVER_NAME = 'keybearer-test-server-ts';
const CLIENT_ID = 'keybearer-test-client';
const PATH = '/mcp';

const { values: args } = parseArgs({
    options: {
        port: { type: 'string', default: '0' },
        lenient: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false }
    }
});
if (args.help) {
    process.stdout.write('usage: MCP_TEST_TOKEN=secret node server.mjs [--port N] [--lenient]\n');
    process.exit(0);
}
if (!process.env.MCP_TEST_TOKEN_FILE && !process.env.MCP_TEST_TOKEN) {
    process.stderr.write('server.mjs: set MCP_TEST_TOKEN or MCP_TEST_TOKEN_FILE\n');
    process.exit(2);
}

const log = line => process.stderr.write(`${line}\n`);

function expectedToken() {
    const path = process.env.MCP_TEST_TOKEN_FILE;
    if (path) {
        try {
            return readFileSync(path, 'utf8').trim();
        } catch (error) {
            log(`cannot read MCP_TEST_TOKEN_FILE: ${error.code}`);
            return undefined;
        }
    }
    return process.env.MCP_TEST_TOKEN;
}

const sha256Hex = text => createHash('sha256').update(text, 'utf8').digest('hex');

// One shared secret instead of OAuth: the SDK's bearer gate calls this for every
// request; throwing invalid_token makes it answer 401 with a WWW-Authenticate challenge.
const verifier = {
    async verifyAccessToken(token) {
        const expected = expectedToken();
        const given = Buffer.from(token, 'utf8');
        const wanted = Buffer.from(expected ?? '', 'utf8');
        if (!expected || given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
            throw new OAuthError(OAuthErrorCode.InvalidToken, 'Invalid bearer token');
        }
        // The gate refuses tokens without an expiry; a static secret gets one hour from now.
        return { token, clientId: CLIENT_ID, scopes: [], expiresAt: Math.floor(Date.now() / 1000) + 3600 };
    }
};
const bearerGate = requireBearerAuth({ verifier });

// A fresh McpServer per HTTP request (the SDK's stateless serving model).
function buildServer() {
    const server = new McpServer({ name: SERVER_NAME, version: '1.0.0' });
    server.registerTool(
        'echo',
        { description: 'Return the text unchanged.', inputSchema: z.object({ text: z.string() }) },
        async ({ text }) => ({ content: [{ type: 'text', text }] })
    );
    server.registerTool(
        'whoami',
        { description: 'SHA-256 hex of the bearer token that this very request carried.' },
        async ctx => ({ content: [{ type: 'text', text: sha256Hex(ctx.http?.authInfo?.token ?? '') }] })
    );
    return server;
}

const mcp = createMcpHandler(buildServer, {
    legacy: args.lenient ? 'stateless' : 'reject',
    // Rejections (e.g. the -32022 for a 2025 initialize) are reported here; the
    // request line below already shows their status, so only the reason is logged.
    onerror: error => log(`  mcp: ${error.message}`)
});

const nodeHandler = toNodeHandler({
    fetch: async (request, options) => {
        const auth = await bearerGate(request);
        if (auth instanceof Response) return auth;
        return mcp.fetch(request, { ...options, authInfo: auth });
    }
});

// One line per request, written when the response starts (an SSE stream never
// finishes): method, path, status, and the MCP headers the request carried.
// Never the Authorization header or the query string.
function logRequest(req, status) {
    const path = (req.url ?? '').split('?')[0];
    const method = req.headers['mcp-method'] ?? '-';
    const version = req.headers['mcp-protocol-version'] ?? '-';
    const name = req.headers['mcp-name'] ?? '-';
    log(`${req.method} ${path} ${status} mcp-method=${method} mcp-protocol-version=${version} mcp-name=${name}`);
}

const httpServer = createServer((req, res) => {
    const writeHead = res.writeHead;
    res.writeHead = function (status, ...rest) {
        logRequest(req, status);
        return writeHead.call(this, status, ...rest);
    };
    const path = (req.url ?? '').split('?')[0];
    if (path !== PATH) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('Not Found\n');
        return;
    }
    nodeHandler(req, res).catch(error => {
        log(`  handler failed: ${error.message}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
    });
});
// Answer small responses at once: no Nagle delay on keep-alive connections.
httpServer.on('connection', socket => socket.setNoDelay(true));

httpServer.listen(Number(args.port), '127.0.0.1', () => {
    const { port } = httpServer.address();
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}${PATH}` })}\n`);
});
httpServer.on('error', error => {
    log(`cannot listen on 127.0.0.1:${args.port}: ${error.message}`);
    process.exit(1);
});

function shutdown() {
    mcp.close().finally(() => {
        httpServer.close();
        httpServer.closeAllConnections?.();
        process.exit(0);
    });
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
