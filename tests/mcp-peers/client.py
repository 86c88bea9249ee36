"""A real MCP client (official Python SDK): connect, initialize, call one tool.

    MCP_CLIENT_TOKEN=secret python client.py --url http://127.0.0.1:PORT/mcp
    python client.py --url http://127.0.0.1:PORT/sse --transport sse --tool whoami
    python client.py --config ~/.claude.json     # first entry of "mcpServers"

Prints one JSON line: {"ok": true, "server": NAME, "result": TEXT}, or
{"ok": false, "error": ..., "status": HTTP_STATUS_OR_NULL} and exits 1.

Stdio mode spawns COMMAND (e.g. `keybearer bridge ...`) with this process's
whole environment and talks MCP over its stdin/stdout:

    python client.py --stdio [--tool NAME] [--args JSON] [--answer TEXT]
                     [--cancel-after SECONDS] [--list-tools] [--again-when FILE]
                     [--negotiation legacy|auto|2026-07-28] -- COMMAND ARGS...

With --again-when FILE, after the call it writes FILE.first, waits for FILE to
exist (a test changes something meanwhile: a rotated credential) and calls the
tool again in the same session ("second_result").

It prints {"ok": true, "result": TEXT, "notifications": N, "protocol_version": V, ...},
with --cancel-after {"ok": true, "cancelled": true, ...}, or {"ok": false, "error": ...}
and exits 1.
"""

import argparse
import asyncio
import hashlib
import json
import os
import sys
import warnings

import anyio
import httpx2
import mcp_types as types
from mcp import ClientSession
from mcp.client.client import Client
from mcp.client.session import ClientRequestContext
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPDeprecationWarning

# Logging and sampling are deprecated as of 2026-07-28; a relay still carries them.
warnings.simplefilter("ignore", MCPDeprecationWarning)

# Claude-style config "type" -> our --transport name.
CONFIG_TYPES = {"http": "streamable_http", "streamable_http": "streamable_http", "sse": "sse"}


class StatusRecorder:
    """httpx2 response hook remembering the first HTTP error status.

    The SDK does not surface it: streamable HTTP turns a 401 into a generic
    JSON-RPC "Server returned an error response", and SSE raises it wrapped in
    exception groups.
    """

    def __init__(self):
        self.status: int | None = None

    async def __call__(self, response: httpx2.Response) -> None:
        if response.status_code >= 400 and self.status is None:
            self.status = response.status_code

    def client_factory(self, headers=None, timeout=None, auth=None) -> httpx2.AsyncClient:
        # Same signature as mcp.shared._httpx_utils.create_mcp_http_client.
        return httpx2.AsyncClient(
            headers=headers,
            timeout=timeout or httpx2.Timeout(30, read=300),
            auth=auth,
            event_hooks={"response": [self]},
        )


async def call(
    url: str,
    transport: str,
    headers: dict[str, str],
    tool: str,
    arguments: dict,
    recorder: StatusRecorder,
    list_tools: bool = False,
):
    if transport == "sse":
        streams = sse_client(url, headers=headers, httpx_client_factory=recorder.client_factory)
    else:
        # streamable_http_client takes no headers: they go on the httpx2 client.
        streams = streamable_http_client(url, http_client=recorder.client_factory(headers=headers))
    async with streams as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        if list_tools:
            listing = await session.list_tools()
            return init.server_info.name, [t.name for t in listing.tools]
        result = await session.call_tool(tool, arguments)
        text = "".join(getattr(block, "text", "") for block in result.content)
        if result.is_error:
            raise RuntimeError(f"tool {tool} failed: {text}")
        return init.server_info.name, text


def tool_text(result: types.CallToolResult) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


class StdioRun:
    """One stdio session: the callbacks the server may reach and what they saw."""

    def __init__(self, answer: str | None):
        self.answer = answer
        self.progress = 0
        self.logs = 0
        self.requests: list[str] = []  # server-to-client requests answered, by method

    async def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress += 1

    async def on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs += 1

    async def on_elicit(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        self.requests.append("elicitation/create")
        if self.answer is None:
            return types.ElicitResult(action="decline")
        schema = getattr(params, "requested_schema", None) or {}
        fields = list((schema.get("properties") or {}).keys()) or ["answer"]
        # Every field gets the answer: the test server's form has one string field.
        return types.ElicitResult(action="accept", content={name: self.answer for name in fields})

    async def on_sample(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.ErrorData:
        self.requests.append("sampling/createMessage")
        if self.answer is None:
            return types.ErrorData(code=types.INVALID_REQUEST, message="no --answer given")
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=self.answer),
            model="keybearer-test-model",
            stop_reason="endTurn",
        )

    def counts(self) -> dict:
        return {
            "notifications": self.progress + self.logs,
            "progress": self.progress,
            "logs": self.logs,
            "server_requests": self.requests,
        }


def stdio_params(command: list[str]) -> StdioServerParameters:
    # The SDK's stdio client passes only a few safe variables (HOME, PATH, ...)
    # unless told otherwise; the bridge needs the whole environment
    # (KEYBEARER_*, XDG_*, DBUS_SESSION_BUS_ADDRESS for the keyring, ...).
    return StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))


async def call_session(
    server,
    tool: str,
    arguments: dict,
    answer: str | None = None,
    negotiation: str = "legacy",
    cancel_after: float | None = None,
    list_tools: bool = False,
    again_when: str | None = None,
) -> dict:
    """Connect through `server` (anything mcp.Client takes: StdioServerParameters,
    a transport context manager, a URL), call one tool, and describe what happened."""
    run = StdioRun(answer)
    client = Client(
        server,
        mode=negotiation,
        elicitation_callback=run.on_elicit,
        sampling_callback=run.on_sample,
        logging_callback=run.on_log,
        # Opts in to notifications/message on 2026-07-28 connections; on 2025
        # ones the server sends every level anyway.
        log_level="debug",
        cache=None,
    )
    async with client:
        out: dict = {"ok": True}
        if list_tools:
            listing = await client.list_tools()
            out["tools"] = [t.name for t in listing.tools]
        elif cancel_after is not None:
            with anyio.move_on_after(cancel_after) as scope:
                result = await client.call_tool(tool, arguments, progress_callback=run.on_progress)
            if scope.cancelled_caught:
                # Leaving the scope sent notifications/cancelled for the call. A
                # tools/list then shows the connection still works after the
                # cancel (not ping: 2026-07-28 has no ping).
                out["cancelled"] = True
                with anyio.fail_after(10):
                    await client.session.list_tools()
                out["alive_after_cancel"] = True
            else:
                out["cancelled"] = False
                out["result"] = tool_text(result)
                out["is_error"] = bool(result.is_error)
        else:
            result = await client.call_tool(tool, arguments, progress_callback=run.on_progress)
            text = tool_text(result)
            if result.is_error:
                raise RuntimeError(f"tool {tool} failed: {text}")
            out["result"] = text
            out["result_chars"] = len(text)
            out["result_sha256"] = hashlib.sha256(text.encode()).hexdigest()
            if again_when:
                with open(again_when + ".first", "w", encoding="utf-8") as f:
                    f.write("done\n")
                while not os.path.exists(again_when):
                    await anyio.sleep(0.05)
                again = await client.call_tool(tool, arguments)
                if again.is_error:
                    raise RuntimeError(f"tool {tool} failed the second time: {tool_text(again)}")
                out["second_result"] = tool_text(again)
        out.update(run.counts())
        out["protocol_version"] = client.protocol_version
        server = client.server_info
        out["server"] = server.name if server else None
        return out


def first_error(error: BaseException) -> BaseException:
    """The first leaf of (possibly nested) exception groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def error_message(e: BaseException) -> str:
    error = first_error(e)
    # httpx2's status errors add a second line pointing at MDN; keep the first.
    return (str(error) or type(error).__name__).splitlines()[0]


def main_stdio(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    command = args.command
    if not command:
        parser.error("--stdio needs a command after --")
    arguments = json.loads(args.args) if args.args else ({"text": "hello"} if args.tool == "echo" else {})
    try:
        out = asyncio.run(
            asyncio.wait_for(
                call_session(
                    stdio_params(command),
                    args.tool,
                    arguments,
                    args.answer,
                    args.negotiation,
                    args.cancel_after,
                    args.list_tools,
                    args.again_when,
                ),
                args.timeout,
            )
        )
    except BaseException as e:  # noqa: BLE001 - report anything as one JSON line
        if isinstance(e, KeyboardInterrupt):
            raise
        message = "timed out" if isinstance(first_error(e), TimeoutError) else error_message(e)
        print(json.dumps({"ok": False, "error": message}), flush=True)
        return 1
    print(json.dumps(out), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdio", action="store_true", help="spawn COMMAND (after --) and speak MCP over its stdio")
    parser.add_argument("--url")
    parser.add_argument("--transport", choices=["streamable_http", "sse"], default="streamable_http")
    parser.add_argument("--config", help='Claude-style JSON: {"mcpServers": {NAME: {type, url, headers}}}')
    parser.add_argument("--tool", default="echo")
    parser.add_argument("--args", default=None, help='JSON tool arguments (default for echo: {"text": "hello"})')
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--list-tools", action="store_true", help="list the tool names instead of calling one")
    parser.add_argument("--answer", help="--stdio: text to answer elicitation and sampling requests with")
    parser.add_argument(
        "--cancel-after", type=float, help="--stdio: cancel the call after SECONDS (notifications/cancelled)"
    )
    parser.add_argument(
        "--negotiation",
        default="legacy",
        help="--stdio: legacy (initialize, 2025-11-25), auto (server/discover, then initialize), or 2026-07-28",
    )
    parser.add_argument(
        "--again-when", help="--stdio: after the call, write FILE.first, wait for FILE, call the tool again"
    )
    parser.add_argument("command", nargs="*", help="--stdio: the command to spawn, after --")
    args = parser.parse_args()

    if args.stdio:
        return main_stdio(parser, args)
    if args.command:
        parser.error("a command is only taken with --stdio")

    if args.config:
        with open(args.config, encoding="utf-8") as f:
            servers = json.load(f)["mcpServers"]
        entry = next(iter(servers.values()))
        url, transport = entry["url"], CONFIG_TYPES[entry.get("type", "http")]
        headers = dict(entry.get("headers") or {})
    elif args.url:
        url, transport, headers = args.url, args.transport, {}
        if token := os.environ.get("MCP_CLIENT_TOKEN"):
            headers["Authorization"] = f"Bearer {token}"
    else:
        parser.error("give --url or --config")

    arguments = json.loads(args.args) if args.args else ({"text": "hello"} if args.tool == "echo" else {})
    recorder = StatusRecorder()
    try:
        server, text = asyncio.run(
            asyncio.wait_for(
                call(url, transport, headers, args.tool, arguments, recorder, args.list_tools), args.timeout
            )
        )
    except BaseException as e:  # noqa: BLE001 - report anything as one JSON line
        if isinstance(e, KeyboardInterrupt):
            raise
        print(json.dumps({"ok": False, "error": error_message(e), "status": recorder.status}), flush=True)
        return 1
    if args.list_tools:
        print(json.dumps({"ok": True, "server": server, "tools": text}), flush=True)
    else:
        print(json.dumps({"ok": True, "server": server, "result": text}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
