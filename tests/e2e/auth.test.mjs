// Identity end to end: registration, sign-in, tokens, sessions, admin account management,
// the 401/403 matrix, hostile input, and that no secret reaches the log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectProblem, runTonearm } from './lib/server.mjs';
import { ADMIN_PASSWORD, adminEnv, login, bearer, generatedAdminPassword } from './lib/auth.mjs';

let srv;
const secrets = new Set([ADMIN_PASSWORD]);
const J = { 'content-type': 'application/json' };
// The CLI tests open the server's database through --data: SQLite runs only.
const cliSkip = (process.env.TA_E2E_DB || 'sqlite').startsWith('postgres') && 'the CLI would not see the server\'s PostgreSQL database';

const post = (path, body, headers = {}) =>
  fetch(srv.url + path, { method: 'POST', headers: { ...J, ...headers }, body: JSON.stringify(body) });
const get = (path, token) => fetch(srv.url + path, { headers: token ? bearer(token) : {} });
const track = (t) => { secrets.add(t.access_token); secrets.add(t.refresh_token); return t; };

before(async () => { srv = await startServer({ env: adminEnv }); });
after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, srv.output().slice(-2000));
});

test('the JWKS is public and lists an ES256 key', async () => {
  const r = await get('/.well-known/jwks.json');
  assert.equal(r.status, 200);
  const { keys } = await r.json();
  assert.equal(keys.length, 1);
  assert.deepEqual([keys[0].kty, keys[0].crv, keys[0].alg, keys[0].use], ['EC', 'P-256', 'ES256', 'sig']);
  assert.equal(keys[0].d, undefined);
});

test('register, sign in, me, refresh rotation, reuse revokes the family, logout', async () => {
  let r = await post('/api/v1/auth/register', { username: 'Listener.One', password: 'listener password 1', email: 'one@example.org' });
  assert.equal(r.status, 201);
  const user = await r.json();
  assert.equal(user.role, 'free');
  secrets.add('listener password 1');
  r = await post('/api/v1/auth/register', { username: 'listener.one', password: 'another password' });
  await expectProblem(assert, r, 409);

  const t1 = track(await login(srv.url, 'LISTENER.ONE', 'listener password 1'));
  assert.equal(t1.token_type, 'Bearer');
  assert.equal(t1.expires_in, 900);
  r = await get('/api/v1/me', t1.access_token);
  assert.equal(r.status, 200);
  const me = await r.json();
  assert.equal(me.id, user.id);
  assert.ok(me.permissions.includes('stream'));
  assert.ok(!me.permissions.includes('stream_lossless'));

  r = await post('/api/v1/auth/refresh', { refresh_token: t1.refresh_token });
  assert.equal(r.status, 200);
  const t2 = track(await r.json());
  assert.notEqual(t2.refresh_token, t1.refresh_token);
  assert.equal((await get('/api/v1/me', t2.access_token)).status, 200);
  // Replaying the spent token: 401, and the whole family is gone.
  await expectProblem(assert, await post('/api/v1/auth/refresh', { refresh_token: t1.refresh_token }), 401);
  await expectProblem(assert, await post('/api/v1/auth/refresh', { refresh_token: t2.refresh_token }), 401);

  const t3 = track(await login(srv.url, 'listener.one', 'listener password 1'));
  r = await post('/api/v1/auth/logout', { refresh_token: t3.refresh_token });
  assert.equal(r.status, 204);
  await expectProblem(assert, await post('/api/v1/auth/refresh', { refresh_token: t3.refresh_token }), 401);
});

test('wrong password and unknown user get the same answer', async () => {
  const a = await expectProblem(assert, await post('/api/v1/auth/login', { username: 'admin', password: 'not the password' }), 401);
  const b = await expectProblem(assert, await post('/api/v1/auth/login', { username: 'nobody-here', password: 'not the password' }), 401);
  assert.equal(a.detail, b.detail);
  assert.equal(a.detail, 'invalid username or password');
});

test('sessions list, revoke one, change password revokes the others', async () => {
  await post('/api/v1/auth/register', { username: 'sess', password: 'session password' });
  secrets.add('session password'); secrets.add('session password 2');
  const a = track(await login(srv.url, 'sess', 'session password'));
  const b = track(await login(srv.url, 'sess', 'session password'));
  let r = await get('/api/v1/me/sessions', a.access_token);
  const { items } = await r.json();
  assert.equal(items.length, 2);
  assert.equal(items.filter((s) => s.current).length, 1);
  const other = items.find((s) => !s.current);
  r = await fetch(srv.url + '/api/v1/me/sessions/' + other.id, { method: 'DELETE', headers: bearer(a.access_token) });
  assert.equal(r.status, 204);
  await expectProblem(assert, await post('/api/v1/auth/refresh', { refresh_token: b.refresh_token }), 401);

  const c = track(await login(srv.url, 'sess', 'session password'));
  r = await post('/api/v1/me/password', { old_password: 'wrong one!!', new_password: 'session password 2' }, bearer(a.access_token));
  await expectProblem(assert, r, 403);
  r = await post('/api/v1/me/password', { old_password: 'session password', new_password: 'short' }, bearer(a.access_token));
  await expectProblem(assert, r, 422);
  r = await post('/api/v1/me/password', { old_password: 'session password', new_password: 'session password 2' }, bearer(a.access_token));
  assert.equal(r.status, 204);
  await expectProblem(assert, await post('/api/v1/auth/refresh', { refresh_token: c.refresh_token }), 401);
  r = await post('/api/v1/auth/refresh', { refresh_token: a.refresh_token });
  assert.equal(r.status, 200, 'the current session survives');
  track(await r.json());
  await login(srv.url, 'sess', 'session password 2').then(track);
});

test('admin manages accounts; 401 vs 403 matrix', async () => {
  const admin = track(await login(srv.url, 'admin', ADMIN_PASSWORD));
  let r = await post('/api/v1/admin/users', { username: 'freebie', role: 'free' }, bearer(admin.access_token));
  assert.equal(r.status, 201);
  const created = await r.json();
  assert.equal(typeof created.password, 'string');
  secrets.add(created.password);
  const free = track(await login(srv.url, 'freebie', created.password));

  const routes = [
    ['GET', '/api/v1/admin/users'], ['POST', '/api/v1/admin/users'], ['PATCH', `/api/v1/admin/users/${created.id}`],
    ['DELETE', `/api/v1/admin/users/${created.id}`], ['POST', '/api/v1/admin/invitations'],
  ];
  for (const [method, path] of routes) {
    const body = method === 'POST' || method === 'PATCH' ? '{}' : undefined;
    let x = await fetch(srv.url + path, { method, headers: J, body });
    await expectProblem(assert, x, 401);
    assert.match(x.headers.get('www-authenticate'), /^Bearer/);
    x = await fetch(srv.url + path, { method, headers: { ...J, ...bearer(free.access_token) }, body });
    await expectProblem(assert, x, 403);
  }
  // Catalogue: reading needs a signed-in user, writing an admin.
  assert.equal((await get('/api/v1/tracks')).status, 401);
  assert.equal((await get('/api/v1/tracks', free.access_token)).status, 200);
  r = await fetch(srv.url + '/api/v1/tracks/01ARZ3NDEKTSV4RRFFQ69G5FAV', { method: 'DELETE', headers: bearer(free.access_token) });
  assert.equal(r.status, 403);

  r = await get('/api/v1/admin/users', admin.access_token);
  assert.equal(r.status, 200);
  assert.ok((await r.json()).items.some((u) => u.username === 'freebie'));
  r = await fetch(srv.url + `/api/v1/admin/users/${created.id}`, {
    method: 'PATCH', headers: { ...J, ...bearer(admin.access_token) }, body: JSON.stringify({ role: 'premium' }) });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).role, 'premium');
  r = await fetch(srv.url + `/api/v1/admin/users/${created.id}`, {
    method: 'PATCH', headers: { ...J, ...bearer(admin.access_token) }, body: JSON.stringify({ role: 'emperor' }) });
  await expectProblem(assert, r, 422);
  // The new role shows in the next token.
  r = await post('/api/v1/auth/refresh', { refresh_token: free.refresh_token });
  const prem = track(await r.json());
  assert.ok((await (await get('/api/v1/me', prem.access_token)).json()).permissions.includes('stream_lossless'));
  // Disable: no more sign-in or refresh.
  r = await fetch(srv.url + `/api/v1/admin/users/${created.id}`, {
    method: 'PATCH', headers: { ...J, ...bearer(admin.access_token) }, body: JSON.stringify({ disabled: true }) });
  assert.equal(r.status, 200);
  await expectProblem(assert, await post('/api/v1/auth/refresh', { refresh_token: prem.refresh_token }), 401);
  await expectProblem(assert, await post('/api/v1/auth/login', { username: 'freebie', password: created.password }), 401);
  // An admin cannot lock themselves out.
  const meId = (await (await get('/api/v1/me', admin.access_token)).json()).id;
  r = await fetch(srv.url + `/api/v1/admin/users/${meId}`, { method: 'DELETE', headers: bearer(admin.access_token) });
  await expectProblem(assert, r, 409);
  r = await fetch(srv.url + `/api/v1/admin/users/${created.id}`, { method: 'DELETE', headers: bearer(admin.access_token) });
  assert.equal(r.status, 204);
  r = await fetch(srv.url + `/api/v1/admin/users/${created.id}`, { method: 'DELETE', headers: bearer(admin.access_token) });
  await expectProblem(assert, r, 404);
});

test('invitations: single use, with their role', async () => {
  const admin = track(await login(srv.url, 'admin', ADMIN_PASSWORD));
  const r = await post('/api/v1/admin/invitations', { role: 'premium' }, bearer(admin.access_token));
  assert.equal(r.status, 201);
  const inv = await r.json();
  secrets.add(inv.code);
  let x = await post('/api/v1/auth/register', { username: 'invited', password: 'invited password', invitation: inv.code });
  assert.equal(x.status, 201);
  assert.equal((await x.json()).role, 'premium');
  x = await post('/api/v1/auth/register', { username: 'invited2', password: 'invited password', invitation: inv.code });
  await expectProblem(assert, x, 422);
});

test('malformed Authorization headers are 401 with invalid_token or invalid_request', async () => {
  const admin = track(await login(srv.url, 'admin', ADMIN_PASSWORD));
  const [h, p] = admin.access_token.split('.');
  const none = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
  const cases = [
    'Bearer', 'Bearer ', 'Basic YWRtaW46cGFzc3dvcmQ=', 'bearer garbage', `Bearer ${h}.${p}`,
    `Bearer ${none}.${p}.`, `Bearer ${admin.access_token}x`, `Bearer ${admin.access_token.slice(0, -3)}`,
    `Bearer ${'A'.repeat(9000)}`, `Bearer ${h}.${Buffer.from('{"sub":"x","role":"admin"}').toString('base64url')}.${admin.access_token.split('.')[2]}`,
    "Bearer ' OR 1=1 --", 'Bearer a.b.c',
  ];
  for (const auth of cases) {
    const r = await fetch(srv.url + '/api/v1/me', { headers: { authorization: auth } });
    await expectProblem(assert, r, 401);
    assert.match(r.headers.get('www-authenticate') || '', /^Bearer realm="tonearm"/, auth.slice(0, 40));
  }
  // The scheme is case-insensitive, and open routes ignore a bad token.
  assert.equal((await fetch(srv.url + '/api/v1/me', { headers: { authorization: `bearer ${admin.access_token}` } })).status, 200);
  assert.equal((await fetch(srv.url + '/api/v1/version', { headers: { authorization: 'Bearer junk' } })).status, 200);
});

test('SQL metacharacters and NUL bytes in text fields are 400/401/422, never 500', async () => {
  const hostile = ["' OR '1'='1", 'admin\'--', 'a"; DROP TABLE users; --', 'ad\u0000min', '\u0000', 'x'.repeat(5000), '💥💥💥', '%00', '\\'];
  for (const s of hostile) {
    for (const body of [{ username: s, password: s }, { username: 'admin', password: s }]) {
      const r = await post('/api/v1/auth/login', body);
      assert.ok([400, 401].includes(r.status), `login ${JSON.stringify(body).slice(0, 60)}: ${r.status}`);
    }
    const r = await post('/api/v1/auth/register', { username: s, password: 'long enough pw', email: s });
    assert.ok([400, 422].includes(r.status), `register ${JSON.stringify(s).slice(0, 40)}: ${r.status}`);
    const q = await post('/api/v1/auth/refresh', { refresh_token: s });
    assert.ok([400, 401].includes(q.status), `refresh: ${q.status}`);
  }
  // A raw NUL in the JSON text and non-JSON bodies.
  for (const raw of ['{"username":"a\u0000b","password":"x"}', 'not json', '[]', '{"username":1,"password":2}']) {
    const r = await fetch(srv.url + '/api/v1/auth/login', { method: 'POST', headers: J, body: raw });
    assert.equal(r.status, 400, raw);
  }
  // Still serving.
  assert.equal((await get('/healthz')).status, 200);
});

test('tonearm keys rotate: old tokens keep working, the new key signs after a reload', { skip: cliSkip }, async () => {
  const before = track(await login(srv.url, 'admin', ADMIN_PASSWORD));
  const r = await runTonearm(['keys', 'rotate', '--data', srv.dataDir], { env: adminEnv });
  assert.equal(r.code, 0, r.stderr);
  const kid = /new signing key: (\S+)/.exec(r.stdout)[1];
  assert.equal((await get('/api/v1/me', before.access_token)).status, 200);
  // The server notices within AUTH_KEYS_POLL_MS (5 s) of a blocking request.
  let keys = [];
  for (let i = 0; i < 40 && !keys.some((k) => k.kid === kid); i++) {
    await get('/api/v1/me', before.access_token);
    keys = (await (await get('/.well-known/jwks.json')).json()).keys;
    if (!keys.some((k) => k.kid === kid)) await new Promise((res) => setTimeout(res, 250));
  }
  assert.ok(keys.some((k) => k.kid === kid), 'new key published');
  assert.equal(keys.length, 2, 'old key still published');
  const after = track(await login(srv.url, 'admin', ADMIN_PASSWORD));
  const header = JSON.parse(Buffer.from(after.access_token.split('.')[0], 'base64url'));
  assert.equal(header.kid, kid);
  assert.equal((await get('/api/v1/me', after.access_token)).status, 200);
});

test('tonearm user commands', { skip: cliSkip }, async () => {
  const env = { ...adminEnv };
  let r = await runTonearm(['user', 'add', 'cliuser', '--role', 'artist', '--data', srv.dataDir], { env });
  assert.equal(r.code, 0, r.stderr);
  const pw = /password: (\S+)/.exec(r.stdout)[1];
  secrets.add(pw);
  track(await login(srv.url, 'cliuser', pw));
  r = await runTonearm(['user', 'set-role', 'cliuser', 'label', '--data', srv.dataDir], { env });
  assert.equal(r.code, 0, r.stderr);
  r = await runTonearm(['user', 'list', '--data', srv.dataDir], { env });
  assert.match(r.stdout, /cliuser\s+label/);
  r = await runTonearm(['user', 'disable', 'cliuser', '--data', srv.dataDir], { env });
  assert.equal(r.code, 0);
  await expectProblem(assert, await post('/api/v1/auth/login', { username: 'cliuser', password: pw }), 401);
  r = await runTonearm(['user', 'delete', 'cliuser', '--data', srv.dataDir], { env });
  assert.equal(r.code, 0);
  r = await runTonearm(['user', 'delete', 'cliuser', '--data', srv.dataDir], { env });
  assert.equal(r.code, 1);
  r = await runTonearm(['user', 'set-role', 'admin', 'emperor', '--data', srv.dataDir], { env });
  assert.notEqual(r.code, 0);
});

test('a generated first admin password is printed once, outside the JSON log', async () => {
  const s2 = await startServer({ env: { TONEARM_ADMIN_PASSWORD: '' } });
  try {
    const pw = generatedAdminPassword(s2.output());
    assert.ok(pw, s2.output().slice(0, 2000));
    for (const l of s2.logs()) if (!l.unparsed) assert.ok(!JSON.stringify(l).includes(pw));
    track(await login(s2.url, 'admin', pw));
  } finally {
    await s2.stop();
  }
});

test('no password or token ever appears in the server log', () => {
  const out = srv.output();
  assert.ok(out.length > 1000);
  for (const s of secrets) assert.ok(!out.includes(s), `secret leaked into the log: ${s.slice(0, 6)}…`);
});
