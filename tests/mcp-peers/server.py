"""A real MCP server (official Python SDK) that demands a static bearer token.

Keybearer's end-to-end tests start it, read the one JSON line it prints on
stdout ({"url": ...}) and point clients at that URL.

    MCP_TEST_TOKEN=secret python server.py --transport streamable_http --port 0
    MCP_TEST_TOKEN_FILE=/tmp/token python server.py --transport sse
    MCP_TEST_TOKEN=secret python server.py --json-response --stateless

The accepted token comes from MCP_TEST_TOKEN_FILE (re-read on every request,
so a test can rotate it by rewriting the file; each line is a token it
accepts, so a rotation can overlap the old and the new) or else
MCP_TEST_TOKEN. It is
never taken from argv, so it does not show in `ps`, and it is never logged.

Header mode: MCP_TEST_HEADERS='{"X-API-Key": "k", "X-Org": "o"}' demands
exactly these headers (names case-insensitive, values exact) instead of a
bearer token; `whoami` then returns the SHA-256 hex of the lines
"Name: value" of the headers the request carried, in that order.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import sys
import warnings
from typing import Annotated

import anyio
import uvicorn
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve, Sample
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import CreateMessageResult, SamplingMessage, TextContent
from pydantic import BaseModel

# Logging and sampling are deprecated as of 2026-07-28 but are exactly what a
# relay must still carry for 2025 clients; keep stderr free of the warnings.
warnings.simplefilter("ignore", MCPDeprecationWarning)

SERVER_NAME = "keybearer-test-server"
CLIENT_ID = "keybearer-test-client"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def expected_tokens() -> list[str]:
    path = os.environ.get("MCP_TEST_TOKEN_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                return [line.strip() for line in f if line.strip()]
        except OSError as e:
            log(f"cannot read MCP_TEST_TOKEN_FILE: {e.strerror}")
            return []
    token = os.environ.get("MCP_TEST_TOKEN")
    return [token] if token else []


class StaticTokenVerifier:
    """The SDK's TokenVerifier protocol, for one shared secret instead of OAuth.

    The SDK's BearerAuthBackend calls this on every HTTP request; returning
    None makes its RequireAuthMiddleware answer 401.
    """

    async def verify_token(self, token: str) -> AccessToken | None:
        # Every line compared (no early exit on a match).
        matches = [hmac.compare_digest(token.encode(), e.encode()) for e in expected_tokens()]
        if not any(matches):
            return None
        # A constant client_id: the SDK binds a streamable HTTP session to the
        # principal that created it, and a rotated token is the same principal.
        return AccessToken(token=token, client_id=CLIENT_ID, scopes=[])


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


REQUIRED_HEADERS: dict[str, str] = json.loads(os.environ.get("MCP_TEST_HEADERS") or "{}")

mcp = MCPServer(
    name=SERVER_NAME,
    **(
        {}
        if REQUIRED_HEADERS
        else dict(
            token_verifier=StaticTokenVerifier(),
            # The SDK only turns token_verifier on together with AuthSettings, whose
            # issuer_url is mandatory. With no auth_server_provider and no
            # resource_server_url it serves no OAuth routes, so this URL is never used.
            auth=AuthSettings(issuer_url="http://127.0.0.1", resource_server_url=None),
        )
    ),
    log_level="WARNING",
)


class RequireHeaders:
    """ASGI middleware for header mode: 401 unless every required header is
    there with its exact value (compared in constant time)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            seen = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            for name, value in REQUIRED_HEADERS.items():
                if not hmac.compare_digest(seen.get(name.lower(), "").encode(), value.encode()):
                    await send({"type": "http.response.start", "status": 401,
                                "headers": [(b"content-type", b"text/plain")]})
                    await send({"type": "http.response.body", "body": b"missing or wrong header\n"})
                    return
        await self.app(scope, receive, send)


@mcp.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@mcp.tool()
def whoami(ctx: Context) -> str:
    """SHA-256 hex of the bearer token that this very request carried."""
    # ctx.headers are the headers of the HTTP request that delivered this
    # message (the POST, also for SSE), so a token rotated mid-test shows here.
    headers = {k.lower(): v for k, v in (ctx.headers or {}).items()}
    if REQUIRED_HEADERS:
        return sha256_hex("\n".join(f"{name}: {headers.get(name.lower(), '')}" for name in REQUIRED_HEADERS))
    auth = headers.get("authorization", "")
    return sha256_hex(auth[7:] if auth.lower().startswith("bearer ") else "")


@mcp.tool()
def echo_headers(ctx: Context) -> str:
    """The headers of the HTTP request that delivered this call, as JSON, the
    way a server's debug tool shows them (a Basic credential decoded too):
    what a server that echoes its request hands back to its client."""
    headers = {k.lower(): v for k, v in (ctx.headers or {}).items()}
    auth = headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        headers["authorization-decoded"] = base64.b64decode(auth[6:]).decode("utf-8", "replace")
    return json.dumps(headers)


# 64 printable ASCII characters; `big` repeats them, so a relay that drops,
# duplicates or reorders a chunk changes the text (compare sha256 or content).
BIG_PATTERN = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"


def big_text(size: int) -> str:
    repeats = size // len(BIG_PATTERN) + 1
    return (BIG_PATTERN * repeats)[:size]


@mcp.tool()
def big(size: int) -> str:
    """Return exactly `size` ASCII characters: BIG_PATTERN repeated, then cut."""
    if size < 0:
        raise ValueError("size must be >= 0")
    return big_text(size)


@mcp.tool()
async def slow(seconds: float) -> str:
    """Sleep `seconds`, then return "done". notifications/cancelled interrupts it."""
    log(f"slow: started ({seconds}s)")
    try:
        await anyio.sleep(seconds)
    except anyio.get_cancelled_exc_class():
        # The SDK cancels the handler's scope when notifications/cancelled names
        # this request; tests read this line to see the cancel reach the server.
        log("slow: cancelled")
        raise
    log("slow: done")
    return "done"


class Answer(BaseModel):
    answer: str


def ask_question(question: str) -> Elicit[Answer]:
    return Elicit(question, Answer)


@mcp.tool()
async def ask(question: str, reply: Annotated[ElicitationResult[Answer], Resolve(ask_question)]) -> str:
    """Ask the client `question` by form elicitation; return its answer.

    The SDK picks the wire form from the negotiated version: up to 2025-11-25 a
    server-to-client `elicitation/create` request sent mid-call (it needs a
    back-channel: SSE, or stateful streamable HTTP answering with SSE); from
    2026-07-28 an `InputRequiredResult` the client answers by retrying.
    Returns the answer text, or the action "decline" / "cancel".
    """
    if reply.action == "accept":
        return reply.data.answer
    return reply.action


def sample_prompt(prompt: str) -> Sample:
    message = SamplingMessage(role="user", content=TextContent(type="text", text=prompt))
    return Sample([message], max_tokens=100)


@mcp.tool()
async def sample(prompt: str, reply: Annotated[CreateMessageResult, Resolve(sample_prompt)]) -> str:
    """Ask the client's model via `sampling/createMessage`; return the text it answered."""
    content = reply.content
    return getattr(content, "text", None) or json.dumps(content.model_dump(mode="json"))


@mcp.tool()
async def progress(steps: int, ctx: Context) -> str:
    """Send `steps` progress notifications and `steps` log notifications, then return.

    Progress goes out only when the call carried `_meta.progressToken`; log
    messages (level info, logger "progress") go out on 2025 sessions, and on
    2026-07-28 only when the request opted in with a `_meta` log level. Both
    ride the call's own response stream, so a JSON-response server drops them.
    """
    for i in range(1, steps + 1):
        await ctx.report_progress(i, steps, f"step {i}/{steps}")
        await ctx.info(f"step {i}/{steps}", logger_name="progress")
        await anyio.sleep(0.01)
    return f"{steps} steps"


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


async def serve(
    transport: str,
    port: int,
    json_response: bool = False,
    stateless: bool = False,
    mount: str = "",
    sse_path: str = "/sse",
) -> None:
    if transport == "sse":
        app, path = mcp.sse_app(sse_path=sse_path), sse_path  # messages go to /messages/?session_id=...
        if mount:
            # Served under a prefix, as on a shared host: the SDK then announces
            # MOUNT/messages/ (its root path) as the message endpoint.
            from starlette.applications import Starlette
            from starlette.routing import Mount

            app, path = Starlette(routes=[Mount(mount, app=app)]), mount + path
    else:
        app = mcp.streamable_http_app(json_response=json_response, stateless_http=stateless)
        path = "/mcp"

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
    if REQUIRED_HEADERS:
        app = RequireHeaders(app)
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
    parser.add_argument(
        "--json-response",
        action="store_true",
        help="streamable_http: answer POSTs with application/json instead of an SSE stream",
    )
    parser.add_argument(
        "--stateless",
        action="store_true",
        help="streamable_http: no Mcp-Session-Id, a fresh transport per request",
    )
    parser.add_argument(
        "--mount",
        default="",
        help="sse: serve under this path prefix (e.g. /tenant-a): /tenant-a/sse, /tenant-a/messages/",
    )
    parser.add_argument(
        "--sse-path",
        default="/sse",
        help="sse: the event stream's path (e.g. /events, an address without /sse in it)",
    )
    args = parser.parse_args()
    if args.sse_path != "/sse" and (args.transport != "sse" or not args.sse_path.startswith("/")):
        parser.error("--sse-path applies to --transport sse and looks like /path")
    if args.mount and (args.transport != "sse" or not args.mount.startswith("/") or args.mount.endswith("/")):
        parser.error("--mount applies to --transport sse and looks like /prefix")
    if not (os.environ.get("MCP_TEST_TOKEN_FILE") or os.environ.get("MCP_TEST_TOKEN") or REQUIRED_HEADERS):
        parser.error("set MCP_TEST_TOKEN, MCP_TEST_TOKEN_FILE or MCP_TEST_HEADERS")
    if args.transport == "sse" and (args.json_response or args.stateless):
        parser.error("--json-response and --stateless apply to --transport streamable_http only")
    asyncio.run(serve(args.transport, args.port, args.json_response, args.stateless, args.mount, args.sse_path))


if __name__ == "__main__":
    main()
