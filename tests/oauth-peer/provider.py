"""The test authorization server's state and its OAuth provider (the
official MCP Python SDK's `OAuthAuthorizationServerProvider`, in memory),
for `server.py`: switches a test flips, counters it reads, every secret
issued, and the provider's clients, codes and tokens.
"""

import contextvars
import hashlib
import secrets
import sys
import time
from dataclasses import dataclass, field

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import InvalidRedirectUriError, InvalidScopeError, OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl

SERVER_NAME = "keybearer-oauth-peer"
# Every token carries `mcp`; the `admin` tool also needs `admin`.
BASE_SCOPE = "mcp"
EXTRA_SCOPE = "admin"
# The OIDC scope that asks for a refresh token (with `prompt=consent`).
OFFLINE_SCOPE = "offline_access"
# What the authorization and registration endpoints accept.
VALID_SCOPES = [BASE_SCOPE, EXTRA_SCOPE, OFFLINE_SCOPE]
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
CODE_LIFETIME = 300


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def same_resource(a: str | None, b: str) -> bool:
    """RFC 8707 resource indicators compared as the SDK does: one trailing slash aside."""
    return a is not None and a.rstrip("/") == b.rstrip("/")


@dataclass
class Switches:
    """What a test may change while the server runs (POST /test/config)."""

    access_token_lifetime: int = 5
    # refresh_token grants fail with invalid_grant.
    fail_refresh: bool = False
    # The token endpoint answers 307 to /test/redirected-token (a client must not follow).
    token_redirect: bool = False
    # The authorization response carries an `iss` that is not this server's issuer.
    wrong_iss: bool = False
    # The authorization server metadata names another issuer than the one it is served for.
    wrong_metadata_issuer: bool = False
    # The metadata does not claim `authorization_response_iss_parameter_supported`.
    no_iss_support: bool = False
    # The 401 challenge has no resource_metadata (clients must use the well-known URLs).
    omit_resource_metadata: bool = False
    # The protected resource metadata names this URL as its authorization server.
    advertise_as: str | None = None
    # No metadata at all (404 for the resource and authorization server
    # documents, no resource_metadata in the 401), as GitHub's OAuth apps.
    hide_metadata: bool = False
    # Requests to the MCP endpoint wait this long before they are handled.
    hold_mcp_seconds: float = 0
    # The metadata's `scopes_supported` (None: the key is left out).
    scopes_supported: list[str] | None = field(default_factory=lambda: [BASE_SCOPE, EXTRA_SCOPE])
    # A refresh token only for a grant whose scope has `offline_access` and
    # whose authorization request had `prompt=consent` (as OIDC servers do).
    refresh_only_with_offline_access: bool = False
    # A registration whose `scope` names a value `scopes_supported` lacks is
    # refused with `invalid_client_metadata`.
    reject_unknown_registration_scope: bool = False


@dataclass
class Stats:
    registrations: int = 0
    authorizations: int = 0
    code_exchanges: int = 0
    refreshes: int = 0
    refresh_failures: int = 0
    revocations: int = 0
    resource_mismatches: int = 0
    token_redirects: int = 0
    redirect_followed: int = 0
    insufficient_scope: int = 0
    mcp_requests: int = 0
    registration_refusals: int = 0


SWITCHES = Switches()
STATS = Stats()
# Every access token, refresh token and client secret issued (GET /test/issued).
ISSUED: list[str] = []
# Every token revoked through /revoke (GET /test/revoked).
REVOKED: list[str] = []
# Every registration request's client metadata as received, with "refused"
# (GET /test/registrations); they hold no secret.
REGISTRATIONS: list[dict] = []
# Every authorization request's `scope` and `prompt` (GET /test/authorizations).
AUTHORIZATIONS: list[dict] = []
# The `resource` of the token request being handled (the SDK's token handler
# does not hand it to the provider).
TOKEN_RESOURCE: contextvars.ContextVar[str | None] = contextvars.ContextVar("token_resource", default=None)
# The `prompt` of the authorization request being handled (likewise).
AUTHORIZE_PROMPT: contextvars.ContextVar[str | None] = contextvars.ContextVar("authorize_prompt", default=None)


class LoopbackClient(OAuthClientInformationFull):
    """A registered client, with RFC 8252 §7.3 loopback redirects: any port
    on a registered loopback redirect URI is accepted. Any scope the server
    knows may be requested (scope step-up), not only the registered ones."""

    def validate_redirect_uri(self, redirect_uri: AnyUrl | None) -> AnyUrl:
        if redirect_uri is not None and redirect_uri.scheme == "http" and redirect_uri.host in LOOPBACK_HOSTS:
            for registered in self.redirect_uris or []:
                if (registered.scheme, registered.host, registered.path) == (
                    redirect_uri.scheme,
                    redirect_uri.host,
                    redirect_uri.path,
                ):
                    return redirect_uri
            raise InvalidRedirectUriError(f"Redirect URI '{redirect_uri}' not registered for client")
        return super().validate_redirect_uri(redirect_uri)

    def validate_scope(self, requested_scope: str | None) -> list[str] | None:
        if requested_scope is None:
            return None
        scopes = requested_scope.split()
        for scope in scopes:
            if scope not in VALID_SCOPES:
                raise InvalidScopeError(f"Unknown scope {scope}")
        return scopes


@dataclass
class Provider:
    """The SDK's OAuthAuthorizationServerProvider, in memory."""

    issuer: str
    resource: str
    clients: dict[str, LoopbackClient] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    # access token -> the refresh token of the same grant, for revocation
    families: dict[str, str] = field(default_factory=dict)
    # codes whose authorization request had `prompt=consent`
    consented: set[str] = field(default_factory=set)

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        for uri in client_info.redirect_uris or []:
            if uri.scheme != "http" or uri.host not in ("127.0.0.1", "[::1]", "::1"):
                raise RegistrationError("invalid_redirect_uri", "redirect URIs must be http://127.0.0.1:<port>/…")
        client = LoopbackClient.model_validate(client_info.model_dump())
        self.clients[client.client_id] = client
        if client.client_secret:
            ISSUED.append(client.client_secret)
        STATS.registrations += 1

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if not same_resource(params.resource, self.resource):
            STATS.resource_mismatches += 1
            raise AuthorizeError("invalid_target", "resource must be this MCP server's URL")
        code = secrets.token_urlsafe(32)
        prompt = AUTHORIZE_PROMPT.get()
        AUTHORIZATIONS.append({"scope": " ".join(params.scopes) if params.scopes else None, "prompt": prompt})
        if prompt is not None and "consent" in prompt.split():
            self.consented.add(code)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [BASE_SCOPE],
            expires_at=time.time() + CODE_LIFETIME,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
        )
        STATS.authorizations += 1
        iss = self.issuer + "/not-this-issuer" if SWITCHES.wrong_iss else self.issuer
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state, iss=iss)

    async def load_authorization_code(self, client: OAuthClientInformationFull, authorization_code: str):
        code = self.codes.get(authorization_code)
        return code if code and code.client_id == client.client_id else None

    async def exchange_authorization_code(self, client: OAuthClientInformationFull, authorization_code) -> OAuthToken:
        self.codes.pop(authorization_code.code, None)  # one use only
        consented = authorization_code.code in self.consented
        self.consented.discard(authorization_code.code)
        if not same_resource(TOKEN_RESOURCE.get(), authorization_code.resource or ""):
            STATS.resource_mismatches += 1
            raise TokenError("invalid_target", "resource must be the one the code was issued for")
        STATS.code_exchanges += 1
        with_refresh = not SWITCHES.refresh_only_with_offline_access or (
            OFFLINE_SCOPE in authorization_code.scopes and consented
        )
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource, with_refresh)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str):
        token = self.refresh_tokens.get(refresh_token)
        return token if token and token.client_id == client.client_id else None

    async def exchange_refresh_token(self, client, refresh_token: RefreshToken, scopes: list[str]) -> OAuthToken:
        if SWITCHES.fail_refresh:
            STATS.refresh_failures += 1
            raise TokenError("invalid_grant", "The refresh token is no longer valid")
        if not same_resource(TOKEN_RESOURCE.get(), refresh_token.resource or ""):
            STATS.resource_mismatches += 1
            raise TokenError("invalid_target", "resource must be the one the grant was issued for")
        # Rotation: the old refresh token is gone once a new one is issued.
        self._forget_refresh(refresh_token.token)
        STATS.refreshes += 1
        return self._issue(client.client_id, scopes, refresh_token.resource)

    async def load_access_token(self, token: str) -> AccessToken | None:
        access = self.access_tokens.get(token)
        if access is None or (access.expires_at is not None and access.expires_at < time.time()):
            return None
        return access

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        STATS.revocations += 1
        REVOKED.append(token.token)
        if isinstance(token, AccessToken):
            refresh = self.families.get(token.token)
            self.access_tokens.pop(token.token, None)
            if refresh:
                self._forget_refresh(refresh)
        else:
            self._forget_refresh(token.token)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None, with_refresh: bool = True) -> OAuthToken:
        lifetime = SWITCHES.access_token_lifetime
        access = "at_" + secrets.token_urlsafe(32)
        self.access_tokens[access] = AccessToken(
            token=access,
            client_id=client_id,
            scopes=scopes,
            expires_at=int(time.time()) + lifetime,
            resource=resource,
            claims={"iss": self.issuer},
        )
        ISSUED.append(access)
        refresh = None
        if with_refresh:
            refresh = "rt_" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes, resource=resource)
            self.families[access] = refresh
            ISSUED.append(refresh)
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=lifetime,
            scope=" ".join(scopes),
            refresh_token=refresh,
        )

    def _forget_refresh(self, refresh: str) -> None:
        """Drops a refresh token and the access tokens issued with it."""
        self.refresh_tokens.pop(refresh, None)
        for access in [a for a, r in self.families.items() if r == refresh]:
            self.families.pop(access, None)
            self.access_tokens.pop(access, None)
