"""A local stand-in for the MCP Registry's list (`GET /v0.1/servers`), for
Keybearer's tests of the registry refresh. Python's standard library only.

    python server.py [--port 0]

It listens on 127.0.0.1 and prints one line once ready:
{"base": "http://127.0.0.1:PORT"}. See README.md for how tests set the
pages it serves, the hostile ways it can answer, and what it records.
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
STATE = {
    # Each page: bytes, served in order (the next one for the cursor the
    # previous page's metadata.nextCursor named).
    "pages": [],
    # pages | hang | drip | status | redirect | close
    "mode": "pages",
    "status": 500,
}
REQUESTS = []
STATS = {"list_requests": 0, "elsewhere": 0}


def log(message):
    print(message, file=sys.stderr, flush=True)


def next_cursor(page):
    try:
        return json.loads(page)["metadata"]["nextCursor"]
    except Exception:
        return None


def page_for(cursor):
    pages = STATE["pages"]
    if not pages:
        return None
    if cursor is None:
        return pages[0]
    for index, page in enumerate(pages[:-1]):
        if next_cursor(page) == cursor:
            return pages[index + 1]
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        log("%s %s" % (self.command, urlsplit(self.path).path))

    def send_body(self, status, body, content_type="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if parts.path != "/test/config":
            return self.send_body(404, b"{}")
        config = json.loads(body)
        with LOCK:
            if "pages" in config:
                STATE["pages"] = [
                    page["text"].encode() if isinstance(page, dict) and "text" in page
                    else json.dumps(page).encode()
                    for page in config["pages"]
                ]
            for key in ("mode", "status"):
                if key in config:
                    STATE[key] = config[key]
            if config.get("reset_requests"):
                REQUESTS.clear()
                STATS["list_requests"] = 0
                STATS["elsewhere"] = 0
        self.send_body(200, b"{}")

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path == "/test/stats":
            with LOCK:
                return self.send_body(200, json.dumps(STATS).encode())
        if parts.path == "/test/requests":
            with LOCK:
                return self.send_body(200, json.dumps({"requests": REQUESTS}).encode())
        query = parse_qs(parts.query, keep_blank_values=True)
        if parts.path == "/elsewhere/v0.1/servers":
            with LOCK:
                STATS["elsewhere"] += 1
            return self.serve_page(query)
        if parts.path != "/v0.1/servers":
            return self.send_body(404, b'{"title": "Not Found"}')
        with LOCK:
            STATS["list_requests"] += 1
            REQUESTS.append({
                "method": self.command,
                "path": parts.path,
                "query": {key: values[0] for key, values in query.items()},
                "headers": [[name.lower(), value] for name, value in self.headers.items()],
            })
            mode = STATE["mode"]
        if mode == "hang":
            time.sleep(3600)
            return
        if mode == "close":
            self.close_connection = True
            return
        if mode == "status":
            return self.send_body(STATE["status"], b'{"title": "Internal Server Error"}')
        if mode == "redirect":
            port = self.server.server_address[1]
            location = "http://127.0.0.1:%d/elsewhere/v0.1/servers" % port
            if parts.query:
                location += "?" + parts.query
            return self.send_body(302, b"", headers=[("Location", location)])
        if mode == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"servers": [')
            self.wfile.flush()
            for _ in range(3600):
                time.sleep(0.5)
                self.wfile.write(b" ")
                self.wfile.flush()
            return
        self.serve_page(query)

    def serve_page(self, query):
        with LOCK:
            page = page_for(query.get("cursor", [None])[0])
        if page is None:
            return self.send_body(400, b'{"title": "Bad Request", "detail": "unknown cursor"}')
        self.send_body(200, page)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(json.dumps({"base": "http://127.0.0.1:%d" % server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
