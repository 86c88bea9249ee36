#!/usr/bin/env python3
"""Writes the hand-made seeds of each fuzz target's corpus (fuzz/corpus/<target>/seed-*).

The fuzzer starts from these; `make fuzz` merges what it finds into the same
folders. Run once, from the repository's root; kept to show what each
target's input looks like (crates/fuzz-checks/src/<target>.rs says how it
is read).
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "corpus"
FF = b"\xff"


def put(target, name, data):
    folder = ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())


# proxy_head: a head ($SECRET = the session secret), then addresses the upstream named.
put("proxy_head", "post", "POST /v1/mcp HTTP/1.1\r\nHost: 127.0.0.1:4567\r\nAuthorization: Bearer $SECRET\r\nContent-Type: application/json\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-Forwarded-For: 10.0.0.1\r\nProxy-Authorization: Basic abc\r\nAccept-Encoding: gzip\r\nTE: trailers\r\n\r\n")
put("proxy_head", "learned", "GET /v1/messages/?session_id=1 HTTP/1.1\r\nHost: LOCALHOST:4567\r\nauthorization: bearer  $SECRET \r\nMcp-Session-Id: abc\r\n\r\n/v1/messages/?session_id=1\nhttps://mcp.example.com/v1/other\nhttps://evil.example/x\n/../admin\n//evil.example/m\nmessages\nHTTPS://MCP.EXAMPLE.COM:443/v1/m;x\n/v1/%2e%2e/admin")
put("proxy_head", "absolute", "DELETE http://127.0.0.1:4567/v1/mcp HTTP/1.1\r\nHost: 127.0.0.1:4567\r\nAuthorization: Bearer $SECRET\r\n\r\n")
put("proxy_head", "trace", "TRACE /v1/mcp HTTP/1.1\r\nHost: 127.0.0.1:4567\r\nAuthorization: Bearer $SECRET\r\n\r\n")
put("proxy_head", "rebinding", "POST /v1/mcp HTTP/1.1\r\nHost: evil.example:4567\r\nAuthorization: Bearer $SECRET\r\n\r\n")
put("proxy_head", "dot-path", "POST /v1/mcp/../admin HTTP/1.1\r\nHost: 127.0.0.1:4567\r\nAuthorization: Bearer $SECRET\r\n\r\n")

# sse_stream: n, n chunk sizes, the stream.
put("sse_stream", "relative", b"\x02\x05\x11event: endpoint\r\ndata: /v1/messages/?session_id=1\r\n\r\ndata: {\"jsonrpc\":\"2.0\"}\n\n")
put("sse_stream", "absolute", b"\x00event: endpoint\ndata: https://mcp.example.com/v1/messages?x=1\n\nevent: message\ndata: {}\n\n")
put("sse_stream", "elsewhere", b"\x01\x03\xef\xbb\xbfevent: endpoint\ndata: https://evil.example/m\n\n")
put("sse_stream", "bare-cr", b"\x01\x01: comment\r\revent:endpoint\rdata:/v1/m\r\r")
put("sse_stream", "two-data", b"\x00event: endpoint\ndata: http:/\ndata: /evil.example/x\n\n")
put("sse_stream", "outside", b"\x01\x07id: 1\nevent: endpoint\ndata: /admin\n\nretry: 10\n\n")

# bridge_message: one JSON-RPC message.
put("bridge_message", "call", '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}')
put("bridge_message", "read", '{"jsonrpc":"2.0","id":"a","method":"resources/read","params":{"uri":"file:///x","name":"n"}}')
put("bridge_message", "answer", '{"jsonrpc":"2.0","id":3,"result":{"protocolVersion":"2025-06-18","capabilities":{}}}')
put("bridge_message", "batch", '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}]')
put("bridge_message", "cancel", '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}')
put("bridge_message", "pretty", '{\r\n  "jsonrpc": "2.0",\n  "id": 1.5e3,\n  "method": "tools/call",\n  "params": {"name": "caf\\u00e9 \\r\\n"}\n}')

# oauth_answers: statuses + WWW-Authenticate | resource metadata | AS metadata | token | registration.
resource = '{"resource":"https://mcp.example.com/v1/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["read","write"]}'
auth = '{"issuer":"https://auth.example.com","authorization_endpoint":"https://auth.example.com/authorize","token_endpoint":"https://auth.example.com/token","registration_endpoint":"https://auth.example.com/register","revocation_endpoint":"https://auth.example.com/revoke","code_challenge_methods_supported":["S256"],"response_types_supported":["code"],"scopes_supported":["read","write","offline_access"],"token_endpoint_auth_methods_supported":["client_secret_post","none"]}'
token = '{"access_token":"at-123456789","token_type":"bearer","expires_in":"3600","refresh_token":"rt-1","scope":"read"}'
registration = '{"client_id":"abc","client_secret":"s3cr3t","token_endpoint_auth_method":"client_secret_basic"}'
challenge = 'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/v1/mcp", scope="read write"'
put("oauth_answers", "signed-in", b"\x00\x00" + challenge.encode() + FF + resource.encode() + FF + auth.encode() + FF + token.encode() + FF + registration.encode())
put("oauth_answers", "refused", b"\x01\x01" + b"Basic realm=x, Bearer error=\"invalid_token\"" + FF + resource.replace("/v1/mcp", "").encode() + FF + auth.encode() + FF
    + b'{"error":"invalid_grant","error_description":"code code-5ecret-fuzz-0001 expired"}' + FF + b'{"error":"invalid_client_metadata","error_description":"bad scope"}')
put("oauth_answers", "wrong-issuer", b"\x03\x03" + FF + resource.encode() + FF + auth.replace('"issuer":"https://auth.example.com"', '"issuer":"https://other.example"').encode() + FF + b'{"error":"server_error"}' + FF + b"not json")

# settings_*: app, edit, name, the file.
claude = '''{
  // my servers
  "mcpServers": {
    "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"GITHUB_TOKEN": "ghp_xxx"}},
    "remote": {"type": "http", "url": "https://mcp.example.com/mcp?token=abc", "headers": {"Authorization": "Bearer sk-123456"}},
    "ours": {"command": "/opt/keybearer/bin/keybearer", "args": ["bridge", "--connection", "con_fuzz", "--server", "https://mcp.example.com/mcp"]}, // trailing
  },
  "other": [1, 2, {"a": null}]
}
'''
for edit in range(5):
    put("settings_jsonc", f"claude-{edit}", bytes([1, edit, 1]) + claude.encode())
put("settings_jsonc", "vscode", b"\x03\x00\x02" + b'{"inputs": [{"id": "tok", "type": "promptString"}], "servers": {"x": {"type": "stdio", "command": "x"}}}')
put("settings_jsonc", "opencode-nested", b"\x07\x03\x00" + b'{"$schema": "https://opencode.ai/config.json", "mcp": {"servers": {"r": {"type": "remote", "url": "https://a.example/mcp"}}}}')
put("settings_jsonc", "empty", b"\x05\x00\x00")
put("settings_jsonc", "crlf", b"\x00\x02\x00" + b'{\r\n  "mcpServers": {\r\n    "a": {"command": "a"},\r\n    "b": {"command": "b"}\r\n  }\r\n}\r\n')
codex = '''# Codex
model = "o4"

[mcp_servers.github]
command = "npx"
args = ["-y", "server-github"]
env = { GITHUB_TOKEN = "ghp_xxx" } # pasted

[mcp_servers."with space"]
url = "https://mcp.example.com/mcp"
http_headers = { Authorization = "Bearer sk-123456" }

[profiles.fast]
model = "o4-mini"
'''
for edit in range(5):
    put("settings_toml", f"codex-{edit}", bytes([0, edit, 1]) + codex.encode())
put("settings_toml", "dotted", b"\x00\x00\x00" + b'mcp_servers.a.command = "a"\nmcp_servers.a.args = []\n')
put("settings_toml", "empty", b"\x00\x00\x03")
goose = '''GOOSE_PROVIDER: openai
extensions:
  developer:
    enabled: true
    name: developer
    type: builtin
  remote:
    enabled: true
    name: remote
    type: streamable_http
    uri: https://mcp.example.com/mcp
    headers:
      Authorization: Bearer sk-123456
  # a comment
  local:
    cmd: npx
    args: [-y, server]
    envs: {API_KEY: abc}
    type: stdio
    enabled: true
GOOSE_MODEL: gpt-4o
'''
for edit in range(5):
    put("settings_yaml", f"goose-{edit}", bytes([0, edit, 1]) + goose.encode())
put("settings_yaml", "empty", b"\x00\x00\x00")
put("settings_yaml", "no-extensions", b"\x00\x00\x02" + b"GOOSE_PROVIDER: openai\r\nGOOSE_MODEL: x\r\n")

# token_scan: app, the file.
put("token_scan", "claude", b"\x00" + claude.encode())
put("token_scan", "mcp-remote", b"\x00" + b'{"mcpServers": {"r": {"command": "npx", "args": ["mcp-remote@latest", "https://mcp.example.com/sse?api_key=k%41y", "--header", "Authorization:${AUTH}", "--header=X-Api-Key: abcdef"], "env": {"AUTH": "Bearer sk-999", "MY_TOKEN": "t"}}}}')
put("token_scan", "codex", b"\x07" + codex.encode())
put("token_scan", "goose", b"\x08" + goose.encode())

# server_url: an address.
for i, url in enumerate(["https://mcp.example.com/mcp", "HTTPS://MCP.Example.COM:443/v1/", "http://localhost:8000/mcp", "http://[::1]:9/x",
                         "http://example.com/mcp", "https://user:pw@a.example/x", "https://a.example/x?y=1#z", "https://a.example/a/../b",
                         "https://a.example/%2e%2e/", " https://xn--caf-dma.example/ ", "ftp://a.example/", "https://\u00e9.example/\u00e9"]):
    put("server_url", str(i), url)

# echo_stream: kinds + chunk sizes | secrets | the answer (0xF0-0xF7 a needle, 0xF8-0xFB its first half, 0xFC-0xFE its second half).
put("echo_stream", "bearer", b"\x00\x03\x07" + FF + b"sk-live-0123456789" + FF + b'{"headers":{"authorization":"Bearer \xf0"},"x":"\xf8\xfc"}')
put("echo_stream", "basic", b"\x02\x01\x05\x09" + FF + b"pa/ss\"w%rd" + FF + b"HTTP echo: \xf0 \xf1 \xf2 \xf3 \xf4 \xf5\n\n")
put("echo_stream", "two", b"\x01\x00\x02" + FF + b"abcdefgh" + FF + b"abcdefghij" + FF + b"data: \xf0\xf1\xf9\xfd\n\n")
