"""A local OAuth 2.1 authorization server and a token-protected MCP server,
in one process, on the official MCP Python SDK (mcp.server.auth).

Keybearer's OAuth tests start it, read the one JSON line it prints on stdout
({"url": ..., "issuer": ..., "base": ...}) and sign in against it.

    python server.py [--port 0] [--access-token-lifetime 5] [--issuer-path /tenant]
                     [--metadata rfc8414|oidc] [--no-registration]
                     [--scopes-supported "mcp admin"] [switches...]

See README.md for the endpoints and the test switches; the provider and the
state the switches change are in provider.py. Nothing here is meant
for anything but tests: the authorization endpoint approves every request
without asking anyone.
"""

import argparse
import asyncio
import json
import socket
import sys
import warnings

import uvicorn
from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_metadata, build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning
from pydantic import AnyHttpUrl
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

warnings.simplefilter("ignore", MCPDeprecationWarning)

from provider import (
    AUTHORIZATIONS,
    AUTHORIZE_PROMPT,
    BASE_SCOPE,
    EXTRA_SCOPE,
    ISSUED,
    REGISTRATIONS,
    REVOKED,
    SERVER_NAME,
    STATS,
    SWITCHES,
    TOKEN_RESOURCE,
    VALID_SCOPES,
    Provider,
    log,
    sha256_hex,
)


class ProviderVerifier:
    """The SDK's TokenVerifier over the provider's access tokens."""

    def __init__(self, provider: Provider):
        self.provider = provider

    async def verify_token(self, token: str) -> AccessToken | None:
        return await self.provider.load_access_token(token)




def define_tools(server: MCPServer) -> None:
    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    def whoami(ctx: Context) -> str:
        """SHA-256 hex of the bearer token that this very request carried."""
        headers = {k.lower(): v for k, v in (ctx.headers or {}).items()}
        auth = headers.get("authorization", "")
        return sha256_hex(auth[7:] if auth.lower().startswith("bearer ") else "")

    @server.tool()
    def admin() -> str:
        """Only for tokens with the `admin` scope (checked by ScopeGate before the call)."""
        return "admin ok"


class ScopeGate:
    """ASGI middleware around the whole app.

    - A POST to the MCP endpoint calling the `admin` tool with a valid token
      that lacks the `admin` scope gets 403 with
      `WWW-Authenticate: Bearer error="insufficient_scope", scope="mcp admin"`.
    - The MCP endpoint's 401 challenge gets `scope="mcp"`, and loses its
      `resource_metadata` when the switch says so.
    """

    def __init__(self, app, provider: Provider, mcp_path: str, metadata_url: str):
        self.app = app
        self.provider = provider
        self.mcp_path = mcp_path
        self.metadata_url = metadata_url

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != self.mcp_path:
            return await self.app(scope, receive, send)
        STATS.mcp_requests += 1
        if SWITCHES.hold_mcp_seconds:
            await asyncio.sleep(SWITCHES.hold_mcp_seconds)
        if scope["method"] == "POST":
            body = b""
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                more = message.get("more_body", False)
            if await self._lacks_admin_scope(scope, body):
                STATS.insufficient_scope += 1
                challenge = (
                    f'Bearer error="insufficient_scope", scope="{BASE_SCOPE} {EXTRA_SCOPE}", '
                    f'resource_metadata="{self.metadata_url}", '
                    'error_description="The admin tool needs the admin scope"'
                )
                payload = json.dumps({"error": "insufficient_scope"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 403,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            (b"www-authenticate", challenge.encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": payload})
                return
            receive = replay(body, receive)

        async def send_rewritten(message):
            if message["type"] == "http.response.start" and message["status"] == 401:
                headers = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"www-authenticate":
                        value = self._rewrite_challenge(value.decode("latin-1")).encode("latin-1")
                    headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_rewritten)

    def _rewrite_challenge(self, challenge: str) -> str:
        parts = [p.strip() for p in challenge[len("Bearer ") :].split(", ")]
        if SWITCHES.omit_resource_metadata or SWITCHES.hide_metadata:
            parts = [p for p in parts if not p.startswith("resource_metadata=")]
        parts.append(f'scope="{BASE_SCOPE}"')
        return "Bearer " + ", ".join(parts)

    async def _lacks_admin_scope(self, scope, body: bytes) -> bool:
        try:
            message = json.loads(body)
        except ValueError:
            return False
        if not isinstance(message, dict) or message.get("method") != "tools/call":
            return False
        if (message.get("params") or {}).get("name") != "admin":
            return False
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return False  # the SDK answers 401
        access = await self.provider.load_access_token(auth[7:])
        return access is not None and EXTRA_SCOPE not in access.scopes


def replay(body: bytes, receive):
    sent = False

    async def receive_again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


class RequestLog:
    """One stderr line per request: method, path, status. No query, no headers."""

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


def build_app(base: str, args) -> tuple[object, str, str]:
    issuer = base + args.issuer_path
    mcp_url = base + "/mcp"
    provider = Provider(issuer=issuer, resource=mcp_url)

    server = MCPServer(
        name=SERVER_NAME,
        token_verifier=ProviderVerifier(provider),
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(issuer),
            resource_server_url=AnyHttpUrl(mcp_url),
            required_scopes=[BASE_SCOPE],
            validate_token_resource=True,
        ),
        log_level="WARNING",
    )
    define_tools(server)

    registration = ClientRegistrationOptions(
        enabled=not args.no_registration, valid_scopes=VALID_SCOPES, default_scopes=[BASE_SCOPE]
    )
    metadata = build_metadata(
        AnyHttpUrl(issuer), None, registration, RevocationOptions(enabled=True)
    ).model_dump(mode="json", exclude_none=True)
    metadata["issuer"] = issuer
    metadata["token_endpoint_auth_methods_supported"] = ["none", "client_secret_post", "client_secret_basic"]

    authenticator = ClientAuthenticator(provider)
    token_handler = TokenHandler(provider, authenticator)
    authorization_handler = AuthorizationHandler(provider)
    registration_handler = RegistrationHandler(provider, registration)

    async def authorize(request: Request) -> Response:
        # The SDK's handler does not hand `prompt` to the provider.
        params = request.query_params if request.method == "GET" else await request.form()
        prompt = params.get("prompt")
        reset = AUTHORIZE_PROMPT.set(prompt if isinstance(prompt, str) else None)
        try:
            return await authorization_handler.handle(request)
        finally:
            AUTHORIZE_PROMPT.reset(reset)

    async def register(request: Request) -> Response:
        # Recorded, and refused as a strict server would when its scope
        # names a value the metadata does not list; then the SDK's handler
        # (which reads the same cached body).
        try:
            body = await request.json()
        except ValueError:
            body = None
        received = dict(body) if isinstance(body, dict) else {}
        scope = received.get("scope")
        supported = SWITCHES.scopes_supported or []
        unknown = [s for s in scope.split() if s not in supported] if isinstance(scope, str) else []
        refused = SWITCHES.reject_unknown_registration_scope and bool(unknown)
        REGISTRATIONS.append({**received, "refused": refused})
        if refused:
            STATS.registration_refusals += 1
            return JSONResponse(
                {"error": "invalid_client_metadata", "error_description": f"scope {' '.join(unknown)} is not supported"},
                status_code=400,
            )
        return await registration_handler.handle(request)

    async def token(request: Request) -> Response:
        if SWITCHES.token_redirect:
            STATS.token_redirects += 1
            return RedirectResponse(base + "/test/redirected-token", status_code=307)
        form = await request.form()  # cached: the SDK's handler reads the same form
        resource = form.get("resource")
        reset = TOKEN_RESOURCE.set(resource if isinstance(resource, str) else None)
        try:
            return await token_handler.handle(request)
        finally:
            TOKEN_RESOURCE.reset(reset)

    async def revoke(request: Request) -> Response:
        # RFC 7009 with the SDK's client authentication and provider. Not the
        # SDK's RevocationHandler: it demands a client_secret field even from
        # a public client (token_endpoint_auth_method "none").
        try:
            client = await authenticator.authenticate_request(request)
        except AuthenticationError as e:
            return JSONResponse({"error": "invalid_client", "error_description": e.message}, status_code=401)
        form = await request.form()
        value = form.get("token")
        if not isinstance(value, str) or not value:
            return JSONResponse({"error": "invalid_request", "error_description": "token is missing"}, status_code=400)
        found = await provider.load_access_token(value) or await provider.load_refresh_token(client, value)
        if found is not None and found.client_id == client.client_id:
            await provider.revoke_token(found)
        return Response(status_code=200, headers={"Cache-Control": "no-store"})

    async def redirected_token(request: Request) -> Response:
        STATS.redirect_followed += 1
        return await token_handler.handle(request)

    async def as_metadata(request: Request) -> Response:
        if SWITCHES.hide_metadata:
            return Response(status_code=404)
        document = dict(metadata)
        document["authorization_response_iss_parameter_supported"] = not SWITCHES.no_iss_support
        if SWITCHES.wrong_metadata_issuer:
            document["issuer"] = issuer + "/someone-else"
        if SWITCHES.scopes_supported is None:
            document.pop("scopes_supported", None)
        else:
            document["scopes_supported"] = list(SWITCHES.scopes_supported)
        return JSONResponse(document)

    def protected_resource(request: Request) -> Response:
        if SWITCHES.hide_metadata:
            return Response(status_code=404)
        return JSONResponse(
            {
                "resource": mcp_url,
                "authorization_servers": [SWITCHES.advertise_as or issuer],
                "scopes_supported": [BASE_SCOPE],
                "bearer_methods_supported": ["header"],
                "resource_name": SERVER_NAME,
            }
        )

    async def stats(request: Request) -> Response:
        return JSONResponse(STATS.__dict__)

    async def config(request: Request) -> Response:
        try:
            changes = await request.json()
        except ValueError:
            return JSONResponse({"error": "send a JSON object"}, status_code=400)
        for name, value in (changes or {}).items():
            if not hasattr(SWITCHES, name):
                return JSONResponse({"error": f"unknown switch {name}"}, status_code=400)
            setattr(SWITCHES, name, value)
        return JSONResponse(SWITCHES.__dict__)

    async def fail_refresh(request: Request) -> Response:
        SWITCHES.fail_refresh = True
        return JSONResponse(SWITCHES.__dict__)

    async def drop_access_tokens(request: Request) -> Response:
        # A server that stops taking access tokens before their expiry
        # (restarted, keys rotated); the refresh tokens keep working.
        dropped = len(provider.access_tokens)
        provider.access_tokens.clear()
        return JSONResponse({"dropped": dropped})

    async def issued(request: Request) -> Response:
        # Every token and client secret this server ever handed out, for
        # the tests' leak scans.
        return JSONResponse({"tokens": ISSUED})

    async def revoked(request: Request) -> Response:
        return JSONResponse({"tokens": REVOKED})

    async def registrations(request: Request) -> Response:
        return JSONResponse({"registrations": REGISTRATIONS})

    async def authorizations(request: Request) -> Response:
        return JSONResponse({"authorizations": AUTHORIZATIONS})

    as_routes = [
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/revoke", revoke, methods=["POST"]),
    ]
    if not args.no_registration:
        as_routes.append(Route("/register", register, methods=["POST"]))

    well_known = "/.well-known/oauth-authorization-server" if args.metadata == "rfc8414" else "/.well-known/openid-configuration"
    routes = [
        Route(well_known + args.issuer_path, as_metadata, methods=["GET"]),
        Route("/.well-known/oauth-protected-resource/mcp", protected_resource, methods=["GET"]),
        Route("/.well-known/oauth-protected-resource", protected_resource, methods=["GET"]),
        Route("/test/stats", stats, methods=["GET"]),
        Route("/test/config", config, methods=["POST"]),
        Route("/test/fail-refresh", fail_refresh, methods=["POST"]),
        Route("/test/drop-access-tokens", drop_access_tokens, methods=["POST"]),
        Route("/test/issued", issued, methods=["GET"]),
        Route("/test/revoked", revoked, methods=["GET"]),
        Route("/test/registrations", registrations, methods=["GET"]),
        Route("/test/authorizations", authorizations, methods=["GET"]),
        Route("/test/redirected-token", redirected_token, methods=["POST"]),
    ]
    routes += [Mount(args.issuer_path, routes=as_routes)] if args.issuer_path else as_routes

    app = server.streamable_http_app()
    # Ours first: Starlette takes the first matching route.
    app.router.routes[0:0] = routes
    metadata_url = str(build_resource_metadata_url(AnyHttpUrl(mcp_url)))
    return RequestLog(ScopeGate(app, provider, "/mcp", metadata_url)), mcp_url, issuer


async def serve(args) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", args.port))
    except OSError as e:
        sys.exit(f"cannot bind 127.0.0.1:{args.port}: {e.strerror}")
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app, mcp_url, issuer = build_app(base, args)

    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        print(json.dumps({"url": mcp_url, "issuer": issuer, "base": base}), flush=True)
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--access-token-lifetime", type=int, default=5, metavar="SECONDS")
    parser.add_argument(
        "--issuer-path",
        default="",
        help="serve the authorization server under this path (e.g. /tenant): issuer http://127.0.0.1:PORT/tenant",
    )
    parser.add_argument(
        "--metadata",
        choices=["rfc8414", "oidc"],
        default="rfc8414",
        help="serve the AS metadata at /.well-known/oauth-authorization-server (rfc8414) "
        "or only at /.well-known/openid-configuration (oidc)",
    )
    parser.add_argument("--no-registration", action="store_true", help="no dynamic client registration")
    for name in (
        "fail-refresh",
        "token-redirect",
        "wrong-iss",
        "wrong-metadata-issuer",
        "no-iss-support",
        "omit-resource-metadata",
        "hide-metadata",
    ):
        parser.add_argument(f"--{name}", action="store_true", help="start with this test switch on")
    parser.add_argument("--advertise-as", metavar="URL", help="name this authorization server in the resource metadata")
    parser.add_argument(
        "--scopes-supported",
        metavar="SCOPES",
        default=f"{BASE_SCOPE} {EXTRA_SCOPE}",
        help='the metadata\'s scopes_supported, space-separated ("" leaves it out)',
    )
    parser.add_argument(
        "--refresh-only-with-offline-access",
        action="store_true",
        help="a refresh token only when the scope has offline_access and the authorization request had prompt=consent",
    )
    parser.add_argument(
        "--reject-unknown-registration-scope",
        action="store_true",
        help="refuse (invalid_client_metadata) a registration whose scope names a value scopes_supported lacks",
    )
    args = parser.parse_args()
    if args.issuer_path and (not args.issuer_path.startswith("/") or args.issuer_path.endswith("/")):
        parser.error("--issuer-path looks like /tenant")
    SWITCHES.access_token_lifetime = args.access_token_lifetime
    SWITCHES.fail_refresh = args.fail_refresh
    SWITCHES.token_redirect = args.token_redirect
    SWITCHES.wrong_iss = args.wrong_iss
    SWITCHES.wrong_metadata_issuer = args.wrong_metadata_issuer
    SWITCHES.no_iss_support = args.no_iss_support
    SWITCHES.omit_resource_metadata = args.omit_resource_metadata
    SWITCHES.hide_metadata = args.hide_metadata
    SWITCHES.advertise_as = args.advertise_as
    SWITCHES.scopes_supported = args.scopes_supported.split() or None
    SWITCHES.refresh_only_with_offline_access = args.refresh_only_with_offline_access
    SWITCHES.reject_unknown_registration_scope = args.reject_unknown_registration_scope
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
