"""A real MCP client (official Python SDK): connect, initialize, call one tool.

    MCP_CLIENT_TOKEN=secret python client.py --url http://127.0.0.1:PORT/mcp
    python client.py --url http://127.0.0.1:PORT/sse --transport sse --tool whoami
    python client.py --config ~/.claude.json     # first entry of "mcpServers"

Prints one JSON line: {"ok": true, "server": NAME, "result": TEXT}, or
{"ok": false, "error": ..., "status": HTTP_STATUS_OR_NULL} and exits 1.
"""

import argparse
import asyncio
import json
import os
import sys

import httpx2
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

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


async def call(url: str, transport: str, headers: dict[str, str], tool: str, arguments: dict, recorder: StatusRecorder):
    if transport == "sse":
        streams = sse_client(url, headers=headers, httpx_client_factory=recorder.client_factory)
    else:
        # streamable_http_client takes no headers: they go on the httpx2 client.
        streams = streamable_http_client(url, http_client=recorder.client_factory(headers=headers))
    async with streams as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        result = await session.call_tool(tool, arguments)
        text = "".join(getattr(block, "text", "") for block in result.content)
        if result.is_error:
            raise RuntimeError(f"tool {tool} failed: {text}")
        return init.server_info.name, text


def first_error(error: BaseException) -> BaseException:
    """The first leaf of (possibly nested) exception groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url")
    parser.add_argument("--transport", choices=["streamable_http", "sse"], default="streamable_http")
    parser.add_argument("--config", help='Claude-style JSON: {"mcpServers": {NAME: {type, url, headers}}}')
    parser.add_argument("--tool", default="echo")
    parser.add_argument("--args", default=None, help='JSON tool arguments (default for echo: {"text": "hello"})')
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()

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
        server, text = asyncio.run(asyncio.wait_for(call(url, transport, headers, args.tool, arguments, recorder), args.timeout))
    except BaseException as e:  # noqa: BLE001 - report anything as one JSON line
        if isinstance(e, KeyboardInterrupt):
            raise
        error = first_error(e)
        # httpx2's status errors add a second line pointing at MDN; keep the first.
        message = (str(error) or type(error).__name__).splitlines()[0]
        print(json.dumps({"ok": False, "error": message, "status": recorder.status}), flush=True)
        return 1
    print(json.dumps({"ok": True, "server": server, "result": text}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
