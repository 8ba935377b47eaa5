// The OAuth 2.0 authorization server, driven by the real openid-client: discovery (RFC 8414),
// the authorization code flow with PKCE S256 through the server's own sign-in and consent pages,
// refresh, revocation, introspection, client credentials; and the attacks the flow must stop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { startServer } from './lib/server.mjs';
import { login, bearer, ADMIN_PASSWORD } from './lib/auth.mjs';

const REDIRECT = 'http://127.0.0.1:9/callback';
let srv, admin;

before(async () => {
  srv = await startServer();
  admin = await login(srv.url, 'admin', ADMIN_PASSWORD);
});
after(async () => {
  await srv?.stop();
  // Under ASan/UBSan builds: no memory error and no undefined behaviour while serving.
  const out = srv?.output() || '';
  assert.doesNotMatch(out, /ERROR: AddressSanitizer|runtime error:/);
});

async function createClient(body) {
  const r = await fetch(srv.url + '/api/v1/admin/oauth/clients', {
    method: 'POST',
    headers: bearer(admin.access_token, { 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 201, await r.clone().text());
  return r.json();
}

async function discover(clientId, auth) {
  return oidc.discovery(new URL(srv.url), clientId, undefined, auth,
    { execute: [oidc.allowInsecureRequests], algorithm: 'oauth2' });
}

const form = (o) => new URLSearchParams(o).toString();
const formHeaders = (cookie) => ({ 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) });

// GET the sign-in page, POST the credentials with the CSRF token, POST the consent. Returns the
// final response (a 302 to the redirect URI when all went well).
async function throughPage(url, { username = 'admin', password = ADMIN_PASSWORD, action = 'approve' } = {}) {
  const r1 = await fetch(url, { redirect: 'manual' });
  assert.equal(r1.status, 200, await r1.clone().text());
  assert.match(r1.headers.get('content-security-policy'), /default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'/);
  const cookie = r1.headers.get('set-cookie').split(';')[0];
  const html = await r1.text();
  const request = /name="request" value="([^"]+)"/.exec(html)[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)[1];
  const r2 = await fetch(srv.url + '/oauth/authorize', {
    method: 'POST', redirect: 'manual', headers: formHeaders(cookie),
    body: form({ request, csrf, action: 'signin', username, password }),
  });
  if (r2.status !== 200) return r2;
  assert.match(await r2.text(), /Allow access/);
  return fetch(srv.url + '/oauth/authorize', {
    method: 'POST', redirect: 'manual', headers: formHeaders(cookie), body: form({ request, csrf, action }),
  });
}

// The authorization URL with PKCE S256; returns { url, verifier, state }.
async function authUrl(config, scope, extra = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope, state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  return { url, verifier, state };
}

async function tokenRequest(body, headers = {}) {
  const r = await fetch(srv.url + '/oauth/token', { method: 'POST', headers: { ...formHeaders(), ...headers }, body: form(body) });
  return { status: r.status, cache: r.headers.get('cache-control'), body: await r.json() };
}

test('metadata (RFC 8414) names every endpoint and S256 only', async () => {
  const r = await fetch(srv.url + '/.well-known/oauth-authorization-server');
  assert.equal(r.status, 200);
  const m = await r.json();
  assert.equal(m.issuer, srv.url);
  assert.equal(m.token_endpoint, srv.url + '/oauth/token');
  assert.equal(m.jwks_uri, srv.url + '/.well-known/jwks.json');
  assert.deepEqual(m.response_types_supported, ['code']);
  assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
  assert.ok(m.scopes_supported.includes('library:read') && m.scopes_supported.includes('admin'));
  assert.ok(m.grant_types_supported.includes('client_credentials'));
});

test('public client: code + PKCE through the page, /me, scope limits, refresh, revoke', async () => {
  const c = await createClient({ name: 'Player <app>', type: 'public', redirect_uris: [REDIRECT], scope: 'account library:read' });
  assert.equal(c.client_secret, undefined);
  const config = await discover(c.client_id, oidc.None());
  const { url, verifier, state } = await authUrl(config, 'account library:read');
  const done = await throughPage(url);
  assert.equal(done.status, 302);
  const loc = new URL(done.headers.get('location'));
  assert.equal(loc.origin + loc.pathname, REDIRECT);
  assert.equal(loc.searchParams.get('state'), state);
  const tokens = await oidc.authorizationCodeGrant(config, loc, { pkceCodeVerifier: verifier, expectedState: state });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'account library:read');
  const me = await fetch(srv.url + '/api/v1/me', { headers: bearer(tokens.access_token) });
  assert.equal(me.status, 200);
  const body = await me.json();
  assert.equal(body.username, 'admin');
  assert.deepEqual(body.permissions.sort(), ['account', 'library_read']);
  // The admin's token would pass; this one carries library:read and account only.
  const users = await fetch(srv.url + '/api/v1/admin/users', { headers: bearer(tokens.access_token) });
  assert.equal(users.status, 403);
  assert.match(users.headers.get('www-authenticate'), /insufficient_scope/);

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  assert.equal(refreshed.scope, 'account library:read');
  // The first-party refresh endpoint does not take an app's token.
  const fp = await fetch(srv.url + '/api/v1/auth/refresh', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: refreshed.refresh_token }),
  });
  assert.equal(fp.status, 401);
  await oidc.tokenRevocation(config, refreshed.refresh_token);
  await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token), (err) => err.error === 'invalid_grant');
});

test('confidential client: basic auth, introspection, revocation, client credentials', async () => {
  const c = await createClient({
    name: 'Dashboard', type: 'confidential', redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], scope: 'account library:read analytics:read',
  });
  assert.equal(typeof c.client_secret, 'string');
  const config = await discover(c.client_id, oidc.ClientSecretBasic(c.client_secret));
  const { url, verifier, state } = await authUrl(config, 'account library:read');
  const loc = new URL((await throughPage(url)).headers.get('location'));
  const tokens = await oidc.authorizationCodeGrant(config, loc, { pkceCodeVerifier: verifier, expectedState: state });

  let info = await oidc.tokenIntrospection(config, tokens.access_token);
  assert.equal(info.active, true);
  assert.equal(info.client_id, c.client_id);
  assert.equal(info.scope, 'account library:read');
  info = await oidc.tokenIntrospection(config, tokens.refresh_token);
  assert.equal(info.active, true);
  await oidc.tokenRevocation(config, tokens.access_token);
  assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);
  assert.equal((await oidc.tokenIntrospection(config, tokens.refresh_token)).active, false);

  const cc = await oidc.clientCredentialsGrant(config, { scope: 'library:read' });
  assert.equal(cc.refresh_token, undefined);
  assert.equal(cc.scope, 'library:read');
  const list = await fetch(srv.url + '/api/v1/artists', { headers: bearer(cc.access_token) });
  assert.equal(list.status, 200);
  const adminRoute = await fetch(srv.url + '/api/v1/admin/users', { headers: bearer(cc.access_token) });
  assert.equal(adminRoute.status, 403);
  info = await oidc.tokenIntrospection(config, cc.access_token);
  assert.equal(info.active, true);
  assert.equal(info.sub, c.client_id);
  // A scope the client was not given.
  await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'admin' }), (err) => err.error === 'invalid_scope');
  // client_secret_post works too; a wrong secret is 401 invalid_client.
  const post = await tokenRequest({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret });
  assert.equal(post.status, 200);
  const wrong = await tokenRequest({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret.slice(0, -1) + 'x' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'invalid_client');
  assert.equal(wrong.cache, 'no-store');
});

test('attacks: verifier, redirect URI, code reuse, plain, missing PKCE, deny', async () => {
  const c = await createClient({ name: 'Victim app', type: 'public', redirect_uris: [REDIRECT], scope: 'account library:read' });
  const config = await discover(c.client_id, oidc.None());

  // A verifier that does not match the challenge.
  let a = await authUrl(config, 'library:read');
  let code = new URL((await throughPage(a.url)).headers.get('location')).searchParams.get('code');
  let r = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: c.client_id, code_verifier: oidc.randomPKCECodeVerifier() });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');

  // A redirect URI one character off: an error page, never a redirect.
  for (const bad of [REDIRECT + 'x', REDIRECT.slice(0, -1), REDIRECT.replace('callback', 'callbacK')]) {
    const u = new URL(a.url);
    u.searchParams.set('redirect_uri', bad);
    const page = await fetch(u, { redirect: 'manual' });
    assert.equal(page.status, 400);
    assert.equal(page.headers.get('location'), null);
    assert.match(page.headers.get('content-type'), /text\/html/);
    assert.match(await page.text(), /not registered/);
  }

  // A code used twice: the second exchange fails and the first one's tokens die.
  a = await authUrl(config, 'account library:read');
  code = new URL((await throughPage(a.url)).headers.get('location')).searchParams.get('code');
  const first = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: c.client_id, code_verifier: a.verifier });
  assert.equal(first.status, 200);
  const again = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: c.client_id, code_verifier: a.verifier });
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
  const dead = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: c.client_id });
  assert.equal(dead.status, 400);
  assert.equal(dead.body.error, 'invalid_grant');

  // plain is refused, and a public client without PKCE too: errors go back to the app.
  for (const params of [{ code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }, {}]) {
    const u = new URL(srv.url + '/oauth/authorize');
    for (const [k, v] of Object.entries({ response_type: 'code', client_id: c.client_id, redirect_uri: REDIRECT, state: 's1', ...params }))
      u.searchParams.set(k, v);
    const res = await fetch(u, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const back = new URL(res.headers.get('location'));
    assert.equal(back.searchParams.get('error'), 'invalid_request');
    assert.equal(back.searchParams.get('state'), 's1');
    assert.equal(back.searchParams.get('code'), null);
  }

  // The user says no.
  a = await authUrl(config, 'library:read');
  const denied = new URL((await throughPage(a.url, { action: 'deny' })).headers.get('location'));
  assert.equal(denied.searchParams.get('error'), 'access_denied');
  assert.equal(denied.searchParams.get('state'), a.state);

  // A wrong password stays on the page, with no code.
  a = await authUrl(config, 'library:read');
  const wrong = await throughPage(a.url, { password: 'not the password' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('location'), null);

  // A form without the cookie (posted from another site) is refused.
  const p = await fetch(a.url, { redirect: 'manual' });
  const html = await p.text();
  const forged = await fetch(srv.url + '/oauth/authorize', {
    method: 'POST', redirect: 'manual', headers: formHeaders(),
    body: form({ request: /name="request" value="([^"]+)"/.exec(html)[1], csrf: /name="csrf" value="([^"]+)"/.exec(html)[1], action: 'signin', username: 'admin', password: ADMIN_PASSWORD }),
  });
  assert.equal(forged.status, 403);
});

test('API keys: shown once, used as Bearer or X-API-Key, limited by scope, revoked', async () => {
  const mk = (token, body) => fetch(srv.url + '/api/v1/me/api-keys', {
    method: 'POST', headers: bearer(token, { 'content-type': 'application/json' }), body: JSON.stringify(body),
  });
  const r = await mk(admin.access_token, { name: 'script', scope: 'account library:read' });
  assert.equal(r.status, 201);
  const k = await r.json();
  assert.match(k.key, /^ta_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}$/);
  assert.equal(k.scope, 'account library:read');

  const me = await fetch(srv.url + '/api/v1/me', { headers: bearer(k.key) });
  assert.equal(me.status, 200);
  assert.deepEqual((await me.json()).permissions.sort(), ['account', 'library_read']);
  assert.equal((await fetch(srv.url + '/api/v1/artists', { headers: { 'x-api-key': k.key } })).status, 200);
  // Beyond its scopes, though the owner is an admin.
  assert.equal((await fetch(srv.url + '/api/v1/admin/users', { headers: bearer(k.key) })).status, 403);
  // A key cannot mint a broader key.
  assert.equal((await mk(k.key, { name: 'escalate', scope: 'admin' })).status, 403);
  // One character off is refused.
  const off = k.key.slice(0, -1) + (k.key.endsWith('A') ? 'B' : 'A');
  assert.equal((await fetch(srv.url + '/api/v1/me', { headers: bearer(off) })).status, 401);

  const list = await (await fetch(srv.url + '/api/v1/me/api-keys', { headers: bearer(admin.access_token) })).json();
  const mine = list.items.find((x) => x.id === k.id);
  assert.ok(mine);
  assert.equal(mine.key, undefined);
  assert.notEqual(mine.last_used_at, null);
  const del = await fetch(srv.url + '/api/v1/me/api-keys/' + k.id, { method: 'DELETE', headers: bearer(admin.access_token) });
  assert.equal(del.status, 204);
  assert.equal((await fetch(srv.url + '/api/v1/me', { headers: bearer(k.key) })).status, 401);
});

test('audit: a sign-in and a failure appear in /api/v1/admin/audit, admins only', async () => {
  const bad = await fetch(srv.url + '/api/v1/auth/login', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'nope nope nope' }),
  });
  assert.equal(bad.status, 401);
  const fresh = await login(srv.url, 'admin', ADMIN_PASSWORD);
  const get = async (q, token = fresh.access_token) => fetch(srv.url + '/api/v1/admin/audit' + q, { headers: bearer(token) });
  const failed = await (await get('?event=login_failed')).json();
  assert.ok(failed.items.length >= 1);
  assert.equal(failed.items[0].event, 'login_failed');
  assert.equal(failed.items[0].peer, '127.0.0.1');
  const ok = await (await get('?event=login&limit=1')).json();
  assert.equal(ok.items.length, 1);
  assert.equal(ok.items[0].detail, JSON.parse(Buffer.from(fresh.access_token.split('.')[1], 'base64url')).sid);
  assert.equal(typeof ok.next_cursor, 'string');
  // No secret ever lands in the trail.
  const all = JSON.stringify(await (await get('?limit=1000')).json());
  assert.ok(!all.includes(ADMIN_PASSWORD) && !all.includes(fresh.refresh_token) && !all.includes('nope nope'));
  // A token without the admin scope may not read it.
  const c = await createClient({ name: 'Reader', type: 'public', redirect_uris: [REDIRECT], scope: 'library:read' });
  const config = await discover(c.client_id, oidc.None());
  const { url, verifier, state } = await authUrl(config, 'library:read');
  const tokens = await oidc.authorizationCodeGrant(config, new URL((await throughPage(url)).headers.get('location')), { pkceCodeVerifier: verifier, expectedState: state });
  assert.equal((await get('', tokens.access_token)).status, 403);
});
