"""A real MCP server (official Python SDK) that demands a static bearer token.

Keybearer's end-to-end tests start it, read the one JSON line it prints on
stdout ({"url": ...}) and point clients at that URL.

    MCP_TEST_TOKEN=secret python server.py --transport streamable_http --port 0
    MCP_TEST_TOKEN_FILE=/tmp/token python server.py --transport sse

The accepted token comes from MCP_TEST_TOKEN_FILE (re-read on every request,
so a test can rotate it by rewriting the file) or else MCP_TEST_TOKEN. It is
never taken from argv, so it does not show in `ps`, and it is never logged.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import sys

import uvicorn
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer

SERVER_NAME = "keybearer-test-server"
CLIENT_ID = "keybearer-test-client"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def expected_token() -> str | None:
    path = os.environ.get("MCP_TEST_TOKEN_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except OSError as e:
            log(f"cannot read MCP_TEST_TOKEN_FILE: {e.strerror}")
            return None
    return os.environ.get("MCP_TEST_TOKEN")


class StaticTokenVerifier:
    """The SDK's TokenVerifier protocol, for one shared secret instead of OAuth.

    The SDK's BearerAuthBackend calls this on every HTTP request; returning
    None makes its RequireAuthMiddleware answer 401.
    """

    async def verify_token(self, token: str) -> AccessToken | None:
        expected = expected_token()
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            return None
        # A constant client_id: the SDK binds a streamable HTTP session to the
        # principal that created it, and a rotated token is the same principal.
        return AccessToken(token=token, client_id=CLIENT_ID, scopes=[])


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


mcp = MCPServer(
    name=SERVER_NAME,
    token_verifier=StaticTokenVerifier(),
    # The SDK only turns token_verifier on together with AuthSettings, whose
    # issuer_url is mandatory. With no auth_server_provider and no
    # resource_server_url it serves no OAuth routes, so this URL is never used.
    auth=AuthSettings(issuer_url="http://127.0.0.1", resource_server_url=None),
    log_level="WARNING",
)


@mcp.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@mcp.tool()
def whoami(ctx: Context) -> str:
    """SHA-256 hex of the bearer token that this very request carried."""
    # ctx.headers are the headers of the HTTP request that delivered this
    # message (the POST, also for SSE), so a token rotated mid-test shows here.
    auth = (ctx.headers or {}).get("authorization", "")
    return sha256_hex(auth[7:] if auth.lower().startswith("bearer ") else "")


class RequestLog:
    """ASGI middleware: one stderr line per request, method, path and status only.

    Logged when the response starts, since an SSE stream never finishes. The
    query string and headers are left out, so no token can leak into the log.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_logged(message):
            if message["type"] == "http.response.start":
                log(f'{scope["method"]} {scope["path"]} {message["status"]}')
            await send(message)

        await self.app(scope, receive, send_logged)


async def serve(transport: str, port: int) -> None:
    if transport == "sse":
        app, path = mcp.sse_app(), "/sse"  # messages go to /messages/?session_id=...
    else:
        app, path = mcp.streamable_http_app(), "/mcp"

    # Bind ourselves so port 0 works and we know the real port before serving.
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose
    # proto is IPPROTO_TCP, and accepted sockets inherit proto 0 otherwise.
    # Without it, Nagle's algorithm holds back each response body on a
    # keep-alive connection until the client's delayed ACK (~40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as e:
        sys.exit(f"cannot bind 127.0.0.1:{port}: {e.strerror}")
    port = sock.getsockname()[1]

    # access_log off: uvicorn's access log goes to stdout, which is reserved for
    # the one JSON line. RequestLog writes to stderr instead.
    config = uvicorn.Config(
        RequestLog(app), log_level="warning", access_log=False, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    # `started` is set after the lifespan (the streamable HTTP session manager)
    # is up and the socket is accepting.
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        print(json.dumps({"url": f"http://127.0.0.1:{port}{path}"}), flush=True)
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transport", choices=["streamable_http", "sse"], default="streamable_http")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    if not os.environ.get("MCP_TEST_TOKEN_FILE") and not os.environ.get("MCP_TEST_TOKEN"):
        parser.error("set MCP_TEST_TOKEN or MCP_TEST_TOKEN_FILE")
    asyncio.run(serve(args.transport, args.port))


if __name__ == "__main__":
    main()
