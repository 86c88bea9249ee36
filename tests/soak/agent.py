"""The soak's agent (crates/cli/benches/soak.rs): run inside a Keybearer
session, it keeps calling `whoami` on every server of the session's MCP
config, with WORKERS concurrent clients per server (official Python SDK),
until SECONDS have passed, then writes one JSON report:

    python agent.py CONFIG --seconds 600 --workers 4 --report FILE

{"servers": {NAME: {"transport": T, "ok": N, "errors": N, "first_errors": [...]}}}

A failed call is counted and its client reconnects after a short pause; a
call not answered within CALL_TIMEOUT seconds counts as an error too (an
answer lost on the way), and at the end every worker still waiting is
cancelled so the report is always written. The soak's goal is no error at
all while tokens rotate and OAuth grants renew.
"""

import argparse
import asyncio
import json
import time
import warnings

import httpx2
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPDeprecationWarning

warnings.simplefilter("ignore", MCPDeprecationWarning)

CALL_TIMEOUT = 30.0

# The run's length, for the errors' times.
SECONDS = [0.0]

TRANSPORTS = {"http": "streamable_http", "streamable_http": "streamable_http", "sse": "sse"}


def streams(url: str, transport: str, headers: dict[str, str]):
    if transport == "sse":
        return sse_client(url, headers=headers)
    client = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120))
    return streamable_http_client(url, http_client=client)


async def worker(url: str, transport: str, headers: dict, deadline: float, tally: dict) -> None:
    while time.monotonic() < deadline:
        try:
            async with streams(url, transport, headers) as (read, write), ClientSession(read, write) as session:
                await asyncio.wait_for(session.initialize(), CALL_TIMEOUT)
                while time.monotonic() < deadline:
                    result = await asyncio.wait_for(session.call_tool("whoami", {}), CALL_TIMEOUT)
                    if result.is_error:
                        raise RuntimeError("whoami answered an error")
                    tally["ok"] += 1
        except asyncio.CancelledError:
            return  # the end: cancelled while waiting
        except BaseException as error:  # noqa: BLE001 - every failure is counted
            if time.monotonic() >= deadline:
                return
            tally["errors"] += 1
            # An exception group says nothing by itself: its first leaf does.
            while isinstance(error, BaseExceptionGroup) and error.exceptions:
                error = error.exceptions[0]
            if len(tally["first_errors"]) < 5:
                elapsed = round(time.monotonic() - (deadline - SECONDS[0]), 1)
                tally["first_errors"].append(f"at {elapsed} s: {type(error).__name__}: {error}"[:300])
            await asyncio.sleep(0.2)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as f:
        servers = json.load(f)["mcpServers"]
    SECONDS[0] = args.seconds
    deadline = time.monotonic() + args.seconds
    tallies = {}
    tasks = []
    for name, entry in servers.items():
        transport = TRANSPORTS[entry.get("type", "http")]
        tally = {"transport": transport, "ok": 0, "errors": 0, "first_errors": []}
        tallies[name] = tally
        for _ in range(args.workers):
            tasks.append(worker(entry["url"], transport, entry.get("headers", {}), deadline, tally))
    running = [asyncio.ensure_future(task) for task in tasks]
    # Workers still waiting well after the end are stopped (their call is
    # counted once CALL_TIMEOUT passes, or they are merely closing).
    done, pending = await asyncio.wait(running, timeout=args.seconds + CALL_TIMEOUT + 15)
    for task in pending:
        task.cancel()
    tallies_stuck = len(pending)
    with open(args.report, "w", encoding="utf-8") as f:
        json.dump({"servers": tallies, "workers_stopped_at_the_end": tallies_stuck}, f)


if __name__ == "__main__":
    asyncio.run(main())
