// A real OpenID provider for secdesk's sign-in tests: panva's oidc-provider, in memory.
//
// Started by the pytest fixture in tests/http/conftest.py (`node provider.mjs`), which
// waits for the port. Everything is set through the environment:
//
//   PORT                 port on 127.0.0.1 (required)
//   REDIRECT_URIS        comma-separated redirect URIs of the desk's client (required)
//   CLIENT_ID, CLIENT_SECRET   the desk's client (defaults desk-client / desk-secret)
//   TOKEN_AUTH_METHOD    client_secret_basic (default) or client_secret_post
//   ACCOUNTS             JSON {login: {password, sub, email, email_verified, name, tid}};
//                        defaults to the accounts below
//   MODE                 "oidc" (default) or "entra": Entra ID's URL layout
//                        (/<tenant>/oauth2/v2.0/authorize|token, /common/discovery/v2.0/keys,
//                        issuer /<TENANT_ID>/v2.0, a Graph-like /v1.0/me, a `tid` claim)
//   TENANT_ID            the tenant (directory) id in "entra" mode (the people's home tenant)
//   ROUTE_TENANT         the tenant segment of the authorize/token URLs in "entra" mode
//                        (what the desk is configured with: organizations, common or an id)
//
// Knobs producing tokens the desk must refuse. Each one rewrites the id_token in the
// token endpoint's answer and signs it again with the real key, so that only the one
// named property is wrong:
//   ID_TOKEN_AUD=<client>        the id_token is addressed to another client (aud)
//   ID_TOKEN_EXPIRED=<seconds>   iat/exp moved into the past: expired that long ago
//   ID_TOKEN_RESIGN=1            re-signed unchanged (the control: must be accepted)
//   JWKS_OTHER_KEY=1             the JWKS endpoint publishes a different key under the
//                                signing key's kid, so the signature does not verify
import http from 'node:http';
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import Provider from 'oidc-provider';

const env = process.env;
const PORT = Number(env.PORT);
if (!PORT) throw new Error('PORT is required');
const REDIRECT_URIS = (env.REDIRECT_URIS || '').split(',').map((s) => s.trim()).filter(Boolean);
if (!REDIRECT_URIS.length) throw new Error('REDIRECT_URIS is required');
const MODE = env.MODE || 'oidc';
const TENANT_ID = env.TENANT_ID || '11111111-2222-3333-4444-555555555555';
const ROUTE_TENANT = env.ROUTE_TENANT || 'organizations';
const BASE = `http://127.0.0.1:${PORT}`;
const ISSUER = MODE === 'entra' ? `${BASE}/${TENANT_ID}/v2.0` : BASE;
const KID = 'k1';

const ACCOUNTS = env.ACCOUNTS
  ? JSON.parse(env.ACCOUNTS)
  : {
      'carol@contoso.example': {
        password: 'carol-password', sub: 'sub-carol', email: 'carol@contoso.example', email_verified: true, name: 'Carol Contoso',
      },
      'dave@unknown.example': {
        password: 'dave-password', sub: 'sub-dave', email: 'dave@unknown.example', email_verified: true, name: 'Dave Unknown',
      },
    };

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: KID, use: 'sig', alg: 'RS256' };
const publish = (key) => {
  const { kty, n, e } = createPublicKey(key).export({ format: 'jwk' });
  return { keys: [{ kty, n, e, kid: KID, use: 'sig', alg: 'RS256' }] };
};

const routes = MODE === 'entra'
  ? {
      authorization: `/${ROUTE_TENANT}/oauth2/v2.0/authorize`,
      token: `/${ROUTE_TENANT}/oauth2/v2.0/token`,
      jwks: '/common/discovery/v2.0/keys',
      userinfo: '/oidc/userinfo',
    }
  : {};

function findAccountByLogin(login) {
  const account = ACCOUNTS[login];
  return account ? { login, ...account } : undefined;
}

function findAccountBySub(sub) {
  return Object.entries(ACCOUNTS).map(([login, a]) => ({ login, ...a })).find((a) => a.sub === sub);
}

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: env.CLIENT_ID || 'desk-client',
    client_secret: env.CLIENT_SECRET || 'desk-secret',
    redirect_uris: REDIRECT_URIS,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: env.TOKEN_AUTH_METHOD || 'client_secret_basic',
  }],
  jwks: { keys: [signingJwk] },
  pkce: { required: () => true },
  routes,
  scopes: ['openid', 'offline_access', 'email', 'profile', 'User.Read'],
  claims: {
    openid: ['sub', 'tid', 'oid'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['secdesk-test-op-cookie-key'] },
  async findAccount(ctx, id) {
    const account = findAccountBySub(id);
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        const claims = {
          sub: id,
          email: account.email,
          email_verified: Boolean(account.email_verified),
          name: account.name,
          preferred_username: account.login,
        };
        if (MODE === 'entra') Object.assign(claims, { tid: account.tid || TENANT_ID, oid: id });
        return claims;
      },
    };
  },
});
// Test traffic is plain HTTP on 127.0.0.1; keep oidc-provider's warnings short.
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function resign(idToken) {
  const [header, payload] = idToken.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));
  if (env.ID_TOKEN_AUD) payload.aud = env.ID_TOKEN_AUD;
  if (env.ID_TOKEN_EXPIRED) {
    const ago = Number(env.ID_TOKEN_EXPIRED);
    const lifetime = payload.exp - payload.iat;
    payload.exp = Math.floor(Date.now() / 1000) - ago;
    payload.iat = payload.exp - lifetime;
    if (payload.auth_time) payload.auth_time = payload.iat;
  }
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

const rewriting = Boolean(env.ID_TOKEN_AUD || env.ID_TOKEN_EXPIRED || env.ID_TOKEN_RESIGN);
const tokenPath = routes.token || '/token';
const jwksPath = routes.jwks || '/jwks';

function rewriteTokenResponse(res) {
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    if (chunk && res.statusCode === 200) {
      const body = JSON.parse(chunk.toString());
      if (body.id_token) body.id_token = resign(body.id_token);
      const text = JSON.stringify(body);
      res.setHeader('content-length', Buffer.byteLength(text));
      return end(text, ...rest);
    }
    return end(chunk, ...rest);
  };
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, message = '') {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Test OP sign-in</title></head><body>
<h1>Test OpenID provider</h1>${message ? `<p>${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
<label>Login <input id="login" name="login" required></label>
<label>Password <input id="password" name="password" type="password" required></label>
<button type="submit">Sign in</button></form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction uid mismatch');
  const { prompt, params, session } = details;
  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const account = findAccountByLogin(form.get('login') || '');
    if (!account || account.password !== form.get('password')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(loginPage(uid, 'Wrong login or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'login') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(loginPage(uid));
  }
  if (prompt.name === 'consent') {
    // Auto-consent: the desk is a first-party client of this provider.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    if (prompt.details.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  throw new Error(`unexpected prompt ${prompt.name}`);
}

// Entra mode: a Graph-like /v1.0/me answering for the access token the desk got.
async function graphMe(req, res) {
  const token = (req.headers.authorization || '').replace(/^Bearer /, '');
  const accessToken = token ? await provider.AccessToken.find(token) : undefined;
  const account = accessToken && findAccountBySub(accessToken.accountId);
  if (!account) {
    res.writeHead(401, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ error: { code: 'InvalidAuthenticationToken', message: 'Access token is invalid.' } }));
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  return res.end(JSON.stringify({
    id: account.sub, displayName: account.name, mail: account.email, userPrincipalName: account.email,
  }));
}

const handle = provider.callback();
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, BASE);
  try {
    const match = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login))?$/);
    if (match) return await interaction(req, res, match[1], match[2]);
    if (MODE === 'entra' && url.pathname === '/v1.0/me') return await graphMe(req, res);
    if (env.JWKS_OTHER_KEY && req.method === 'GET' && url.pathname === jwksPath) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(publish(otherKey)));
    }
    if (rewriting && req.method === 'POST' && url.pathname === tokenPath) rewriteTokenResponse(res);
    return handle(req, res);
  } catch (err) {
    console.error(err);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    return res.end('test OP error');
  }
});
server.listen(PORT, '127.0.0.1', () => console.log(`test OP listening on ${BASE} (issuer ${ISSUER}, mode ${MODE})`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
