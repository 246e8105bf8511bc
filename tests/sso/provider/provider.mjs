// A real OpenID provider for the SSO tests: the certified `oidc-provider` package, configured from
// the environment, with its own minimal login and consent pages (the package's development pages
// load web fonts from the internet, which the tests do not have).
//
// Environment:
//   OP_PORT      port to listen on (127.0.0.1)
//   OP_CLIENT    JSON {client_id, client_secret, redirect_uris, post_logout_redirect_uris}
//   OP_ACCOUNTS  JSON {username: {password, email, name, groups: [...]}}
//   OP_LOGOUT    `off`: no RP-initiated logout (no end_session_endpoint in discovery)
// The issuer is http://127.0.0.1:<OP_PORT>. The `groups` scope releases the `groups` claim.
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.OP_PORT);
const client = JSON.parse(process.env.OP_CLIENT);
const accounts = JSON.parse(process.env.OP_ACCOUNTS || '{}');
const issuer = `http://127.0.0.1:${port}`;

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8">
<title>${escape(title)}</title></head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

const provider = new Provider(issuer, {
  clients: [{
    ...client,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  // PKCE is required for every client: an authorization request without a code challenge fails.
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  cookies: { keys: ['sso-test-provider-only'] },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: process.env.OP_LOGOUT !== 'off',
      logoutSource: async (ctx, form) => {
        ctx.body = page('Sign out', `${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Signed out', '<p>You are signed out.</p>');
      },
    },
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Provider error', Object.entries(out)
      .map(([key, value]) => `<p><b>${escape(key)}</b>: ${escape(value)}</p>`).join(''));
  },
  findAccount: async (ctx, sub) => {
    const account = accounts[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      claims: async () => ({
        sub,
        preferred_username: sub,
        name: account.name || sub,
        email: account.email || `${sub}@example.test`,
        email_verified: true,
        groups: account.groups || [],
      }),
    };
  },
});

const readForm = (req) => new Promise((resolve, reject) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => resolve(new URLSearchParams(body)));
  req.on('error', reject);
});

const send = (res, status, html) => {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
};

// The interaction pages: GET shows the login or consent form, POST answers it.
async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Wrong interaction', ''));
  const { prompt, params } = details;
  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') {
      return send(res, 200, page('Sign in to the test provider', `
<form method="post" action="/interaction/${escape(uid)}/login">
  <label>Username <input name="login" autocomplete="off" autofocus></label>
  <label>Password <input name="password" type="password"></label>
  <button type="submit" id="op-sign-in">Sign in</button>
</form>
<form method="post" action="/interaction/${escape(uid)}/abort">
  <button type="submit" id="op-cancel">Cancel</button>
</form>`));
    }
    return send(res, 200, page('Allow access', `
<p>${escape(params.client_id)} asks for: ${escape(params.scope)}</p>
<form method="post" action="/interaction/${escape(uid)}/consent">
  <button type="submit" id="op-allow">Allow</button>
</form>
<form method="post" action="/interaction/${escape(uid)}/abort">
  <button type="submit" id="op-cancel">Cancel</button>
</form>`));
  }
  const form = await readForm(req);
  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'The user cancelled the sign-in.',
    }, { mergeWithLastSubmission: false });
  }
  if (action === 'login') {
    const account = accounts[form.get('login')];
    if (!account || account.password !== form.get('password')) {
      return send(res, 200, page('Sign in to the test provider', `<p id="op-error">Wrong username
or password.</p><p><a href="/interaction/${escape(uid)}">Try again</a></p>`));
    }
    return provider.interactionFinished(req, res, { login: { accountId: form.get('login') } });
  }
  if (action === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } },
      { mergeWithLastSubmission: true });
  }
  return send(res, 404, page('Not found', ''));
}

const handle = provider.callback();
const INTERACTION = /^\/interaction\/([^/]+)(?:\/(login|consent|abort))?$/;

http.createServer(async (req, res) => {
  const match = INTERACTION.exec(new URL(req.url, issuer).pathname);
  if (!match) return handle(req, res);
  try {
    await interaction(req, res, match[1], match[2]);
  } catch (err) {
    send(res, 400, page('Interaction failed', `<p>${escape(err.message)}</p>`));
  }
  return undefined;
}).listen(port, '127.0.0.1', () => {
  console.log(`oidc test provider listening on ${issuer}`);
});
