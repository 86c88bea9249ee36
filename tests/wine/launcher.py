"""Starts the tests' Linux peers for the Windows build's tests under Wine.

Under Wine a Windows test cannot run the MCP and OAuth test peers itself as it
does on Linux: Wine starts Linux programs without the pipes it was asked to
give them (the peer's first stdout line, its announced address, never arrives)
and cannot end them (TerminateProcess does not reach a Linux process). So
scripts/windows-test.sh runs this on the Linux side, and the tests' support
code (crates/vault/tests/support/host.rs) asks it over HTTP on 127.0.0.1:

  POST /<secret>/start {"argv": [...], "env": {...}, "remove": [...]}
       → {"id": N, "line": "<the program's first stdout line>"}
  POST /<secret>/stop  {"id": N}                      → {} (killed, reaped)
  POST /<secret>/run   {"argv": [...], "env": {...}, "remove": [...]}
       → {"code": C, "stdout": "...", "stderr": "..."} (stdin closed)

Only the repo's Python and the Node named at start may be run; the path
carries a random secret, so no other program on this computer can use it.
Every program still running is ended when the launcher is stopped. It prints
its own address as one JSON line and runs until SIGTERM.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = secrets.token_urlsafe(24)
ALLOWED = {os.path.realpath(path) for path in sys.argv[1:]}
CHILDREN = {}
LOCK = threading.Lock()
NEXT = [0]


def environment(request):
    env = dict(os.environ)
    for name in request.get("remove", []):
        env.pop(name, None)
    env.update(request.get("env", {}))
    return env


def allowed(argv):
    return bool(argv) and os.path.realpath(argv[0]) in ALLOWED


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        prefix = f"/{SECRET}/"
        if not self.path.startswith(prefix):
            return self.answer(404, {"error": "unknown"})
        action = self.path[len(prefix):]
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        if action == "stop":
            with LOCK:
                child = CHILDREN.pop(request.get("id"), None)
            if child is not None:
                child.kill()
                child.wait()
            return self.answer(200, {})
        argv = request.get("argv", [])
        if action not in ("start", "run") or not allowed(argv):
            return self.answer(403, {"error": f"not allowed: {argv[:1]}"})
        if action == "run":
            done = subprocess.run(
                argv, env=environment(request), stdin=subprocess.DEVNULL,
                capture_output=True, timeout=300,
            )
            return self.answer(200, {
                "code": done.returncode,
                "stdout": done.stdout.decode("utf-8", "replace"),
                "stderr": done.stderr.decode("utf-8", "replace"),
            })
        child = subprocess.Popen(
            argv, env=environment(request), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        line = child.stdout.readline().decode("utf-8", "replace")
        # Whatever else it prints is read and dropped, so it never blocks.
        threading.Thread(target=child.stdout.read, daemon=True).start()
        with LOCK:
            NEXT[0] += 1
            CHILDREN[NEXT[0]] = child
            ident = NEXT[0]
        return self.answer(200, {"id": ident, "line": line})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}/{SECRET}"}), flush=True)
    server.serve_forever()
    with LOCK:
        for child in CHILDREN.values():
            child.kill()
            child.wait()


if __name__ == "__main__":
    main()
