// The OpenID Connect provider the tests sign in through: panva's oidc-provider (a certified
// implementation), with a login page of our own so each account can assert its own `amr`
// and `acr` (a second factor done at the provider), which the library's development
// interactions cannot. Started by tests/peers/oidc.py; never deployed.
//
//   node provider.mjs <config.json>
//
// config.json: {"port": 0 (any free port), "admin_token": "...",
//   "clients": [{"client_id", "client_secret", "redirect_uri_pattern",
//                "post_logout_redirect_uri_pattern"}],
//   "accounts": {"<login>": {"password", "amr": [...], "acr": "...", "claims": {...}}}}
//
// The accounts can be changed while it runs (a person's roles change between two sign-ins):
// PUT /test-admin/accounts/<login> with the admin token as a Bearer token and the account's
// JSON. That is the provider's user directory, not the protocol: sign-in, tokens, userinfo,
// sessions and logout are oidc-provider's own.
//
// Once listening it prints one line, "listening <issuer>" (http://127.0.0.1:<port>), which the
// fixture waits for.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const accounts = new Map(Object.entries(config.accounts || {}));

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

const SCOPES = ['openid', 'email', 'profile', 'offlabel'];
const CLAIMS = {
  // How the person authenticated goes in every ID token, as hospital providers do (by
  // default oidc-provider puts amr in only when the claims parameter asks for it).
  acr: null,
  amr: null,
  auth_time: null,
  sid: null,
  iss: null,
  openid: ['sub', 'acr', 'amr'],
  email: ['email', 'email_verified'],
  profile: ['preferred_username', 'name', 'given_name', 'family_name'],
  // The hospital and roles claims, under a scope of their own as a hospital's provider would.
  offlabel: ['hospital', 'roles'],
};

const clientPatterns = new Map(
  config.clients.map((c) => [
    c.client_id,
    {
      redirect: new RegExp(c.redirect_uri_pattern),
      postLogout: new RegExp(c.post_logout_redirect_uri_pattern),
    },
  ]),
);

function providerMake(issuer) {
  const made = new Provider(issuer, {
    clients: config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      // Registered placeholders; the patterns below admit the test server's real address,
      // whose port is known only once the live server is up.
      redirect_uris: ['http://testserver/oidc/callback/'],
      post_logout_redirect_uris: ['http://testserver/accounts/login/'],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_post',
      require_auth_time: true,
    })),
    jwks: { keys: [signingKey] },
    scopes: SCOPES,
    claims: CLAIMS,
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        // The confirmation page keeps oidc-provider's form; only the look is ours.
        async logoutSource(ctx, form) {
          ctx.body = page('Sign out', `<h1>Sign out of the test provider?</h1>${form}
            <button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
            <button type="submit" form="op.logoutForm">No, stay signed in</button>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Signed out', '<h1>You are signed out of the test provider.</h1>');
        },
      },
    },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          const current = accounts.get(sub) || account;
          return { sub, ...current.claims };
        },
      };
    },
    // Our clients are the hospital's own applications: no consent screen, as a hospital's
    // provider is configured for them.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(SCOPES.join(' '));
      grant.addOIDCClaims(Object.values(CLAIMS).flat().filter(Boolean));
      await grant.save();
      return grant;
    },
    ttl: { Session: 3600, Interaction: 600, Grant: 3600, AuthorizationCode: 60, IdToken: 3600, AccessToken: 3600 },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>Error</h1><pre>${escape(JSON.stringify(out))}</pre>`);
    },
  });
  made.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
    return clientPatterns.get(this.clientId)?.redirect.test(value) ?? false;
  };
  made.Client.prototype.postLogoutRedirectUriAllowed = function postLogoutAllowed(value) {
    return clientPatterns.get(this.clientId)?.postLogout.test(value) ?? false;
  };
  return made;
}

let provider; // made once the port, and so the issuer, is known
let providerHandler;

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><main>${body}</main></body></html>`;
}

function loginPage(uid, error) {
  return page('Test provider sign-in', `<h1>Test provider sign-in</h1>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
  <label>Username <input name="login" required autofocus></label>
  <label>Password <input name="password" type="password" required></label>
  <button type="submit">Sign in to the provider</button>
</form>`);
}

async function formBody(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return new URLSearchParams(raw);
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Error', 'Interaction mismatch'));
  const prompt = details.prompt.name;
  if (prompt === 'consent') {
    // Only reached if loadExistingGrant did not cover a request: grant what was asked.
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(String(details.params.scope || 'openid'));
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (action === undefined && req.method === 'GET') return send(res, 200, loginPage(uid));
  if (action === 'login' && req.method === 'POST') {
    const form = await formBody(req);
    const login = form.get('login') || '';
    const account = accounts.get(login);
    if (!account || account.password !== form.get('password')) {
      return send(res, 200, loginPage(uid, 'Unknown username or wrong password.'));
    }
    const result = { login: { accountId: login, amr: account.amr || ['pwd'], remember: true } };
    if (account.acr) result.login.acr = account.acr;
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  return send(res, 405, page('Error', 'Method not allowed'));
}

async function admin(req, res, login) {
  if (req.headers.authorization !== `Bearer ${config.admin_token}`) return send(res, 403, 'forbidden', 'text/plain');
  if (req.method === 'PUT') {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    accounts.set(login, JSON.parse(raw));
    return send(res, 204, '');
  }
  if (req.method === 'DELETE') {
    accounts.delete(login);
    return send(res, 204, '');
  }
  return send(res, 405, 'method not allowed', 'text/plain');
}

const server = http.createServer(async (req, res) => {
  if (!provider) return send(res, 503, 'starting', 'text/plain');
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/favicon.ico') return send(res, 204, ''); // no 404 in the console
    const interactionMatch = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login))?$/);
    if (interactionMatch) return await interaction(req, res, interactionMatch[1], interactionMatch[2]);
    const adminMatch = url.pathname.match(/^\/test-admin\/accounts\/([^/]+)$/);
    if (adminMatch) return await admin(req, res, decodeURIComponent(adminMatch[1]));
    return providerHandler(req, res);
  } catch (error) {
    console.error(error);
    if (!res.headersSent) send(res, 500, page('Error', escape(error.message)));
    return undefined;
  }
});

server.listen(config.port || 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = providerMake(issuer);
  providerHandler = provider.callback();
  console.log(`listening ${issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
