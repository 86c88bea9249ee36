// An OpenID Connect provider for the team OIDC sign-in tests
// (crates/cli/tests/team_oidc.rs): the certified `oidc-provider` with its
// development login and consent pages (any user name and password sign in;
// for tests only). One client, `openbao`, for the team server's OIDC auth
// method, allowed the one redirect address the test gives.
//
// Environment: OIDC_REDIRECT_URI (the CLI's loopback callback),
// OIDC_CLIENT_SECRET (the client's secret; never an argument).
// Prints one line once ready: {"issuer": "http://127.0.0.1:PORT"}.
import http from 'node:http';
import Provider from 'oidc-provider';

const redirect = process.env.OIDC_REDIRECT_URI;
const secret = process.env.OIDC_CLIENT_SECRET;
if (!redirect || !secret) {
  console.error('OIDC_REDIRECT_URI and OIDC_CLIENT_SECRET are needed');
  process.exit(2);
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'openbao',
        client_secret: secret,
        application_type: 'native',
        redirect_uris: [redirect],
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
    ],
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: `${id}@example.com` }),
    }),
    claims: { openid: ['sub'], email: ['email'] },
    pkce: { required: () => false },
    features: { devInteractions: { enabled: true } },
  });
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});
process.on('SIGTERM', () => process.exit(0));
