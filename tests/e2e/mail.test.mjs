// E-mail end to end through the outbox mailer (the default: <data>/outbox/*.eml): registration
// mails a verification link, verifying flips email_verified, tokens are single use and expire,
// password reset answers the same for unknown accounts, revokes sessions, and no token reaches
// the log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, expectProblem } from './lib/server.mjs';
import { adminEnv, login, bearer } from './lib/auth.mjs';

let srv, quick;
const J = { 'content-type': 'application/json' };
const tokens = new Set();

const post = (s, path, body, headers = {}) =>
  fetch(s.url + path, { method: 'POST', headers: { ...J, ...headers }, body: JSON.stringify(body) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every message in the outbox, parsed just enough: { file, to, subject, headers, body }.
function outbox(s) {
  const dir = join(s.dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().map((f) => {
    const raw = readFileSync(join(dir, f), 'utf8');
    const cut = raw.indexOf('\r\n\r\n');
    const head = raw.slice(0, cut), body = raw.slice(cut + 4);
    const to = /^To: <([^>]+)>$/m.exec(head)?.[1];
    const subject = /^Subject: (.*)$/m.exec(head)?.[1];
    return { file: f, raw, head, body, to, subject };
  });
}

// The newest message to `to`, waiting briefly; its token.
async function mailFor(s, to, { after = 0 } = {}) {
  for (let i = 0; i < 50; i++) {
    const msgs = outbox(s).filter((m) => m.to === to);
    if (msgs.length > after) {
      const m = msgs[msgs.length - 1];
      const tok = /token=([A-Za-z0-9_-]{43})/.exec(m.body)?.[1];
      assert.ok(tok, `no token in:\n${m.raw}`);
      tokens.add(tok);
      return { ...m, token: tok, count: msgs.length };
    }
    await sleep(20);
  }
  throw new Error(`no mail to ${to}`);
}

before(async () => {
  srv = await startServer({ env: { ...adminEnv, TONEARM_PUBLIC_URL: 'https://music.example.org/' } });
  quick = await startServer({
    env: { ...adminEnv, TONEARM_VERIFY_TOKEN_TTL: '1s', TONEARM_RESET_TOKEN_TTL: '1s' },
  });
});
after(async () => {
  for (const s of [srv, quick]) {
    const out = s.output();
    for (const t of tokens) assert.ok(!out.includes(t), 'a mailed token reached the log');
    const r = await s.stop();
    assert.equal(r.code, 0, out.slice(-2000));
  }
});

test('registration mails a verification link; verifying flips email_verified; the token works once', async () => {
  let r = await post(srv, '/api/v1/auth/register', { username: 'mailer.one', password: 'mail password 01', email: 'Mailer.One@Example.org' });
  assert.equal(r.status, 201);
  const m = await mailFor(srv, 'Mailer.One@Example.org');
  assert.match(m.head, /^From: "tonearm" <tonearm@localhost>$/m);
  assert.match(m.head, /^Date: /m);
  assert.match(m.head, /^Message-ID: <[^>]+@localhost>$/m);
  assert.match(m.head, /^MIME-Version: 1\.0$/m);
  assert.match(m.head, /^Content-Type: text\/plain; charset=utf-8$/m);
  assert.ok(m.body.includes(`https://music.example.org/verify-email?token=${m.token}`), m.body);
  assert.ok(m.body.includes('24 hours'));
  // The log says a mail went out, to a masked address.
  const line = srv.logs().find((l) => l.msg === 'mail sent' && l.kind === 'verify_email');
  assert.ok(line);
  assert.equal(line.to, 'M***@Example.org');

  const t = await login(srv.url, 'mailer.one', 'mail password 01');
  r = await fetch(srv.url + '/api/v1/me', { headers: bearer(t.access_token) });
  assert.equal((await r.json()).email_verified, false);

  r = await post(srv, '/api/v1/auth/verify-email', { token: m.token });
  assert.equal(r.status, 200);
  const u = await r.json();
  assert.equal(u.email_verified, true);
  assert.equal(u.username, 'mailer.one');
  r = await fetch(srv.url + '/api/v1/me', { headers: bearer(t.access_token) });
  assert.equal((await r.json()).email_verified, true);

  await expectProblem(assert, await post(srv, '/api/v1/auth/verify-email', { token: m.token }), 400);
  await expectProblem(assert, await post(srv, '/api/v1/auth/verify-email', { token: 'x'.repeat(43) }), 400);
  await expectProblem(assert, await post(srv, '/api/v1/auth/verify-email', {}), 400);
  // Verified already: no new link.
  await expectProblem(assert, await post(srv, '/api/v1/me/email/verify', {}, bearer(t.access_token)), 409);
});

test('asking again sends a new link; without an e-mail address there is none; signed out is 401', async () => {
  let r = await post(srv, '/api/v1/auth/register', { username: 'mailer.two', password: 'mail password 02', email: 'two@example.org' });
  assert.equal(r.status, 201);
  const first = await mailFor(srv, 'two@example.org');
  const t = await login(srv.url, 'mailer.two', 'mail password 02');
  r = await post(srv, '/api/v1/me/email/verify', {}, bearer(t.access_token));
  assert.equal(r.status, 202);
  const second = await mailFor(srv, 'two@example.org', { after: 1 });
  assert.notEqual(second.token, first.token);
  assert.equal((await post(srv, '/api/v1/auth/verify-email', { token: second.token })).status, 200);

  r = await post(srv, '/api/v1/auth/register', { username: 'mailer.none', password: 'mail password 03' });
  assert.equal(r.status, 201);
  const t3 = await login(srv.url, 'mailer.none', 'mail password 03');
  await expectProblem(assert, await post(srv, '/api/v1/me/email/verify', {}, bearer(t3.access_token)), 422);
  await expectProblem(assert, await post(srv, '/api/v1/me/email/verify', {}), 401);
});

test('password reset: 202 either way, only the real account is mailed; confirm revokes sessions', async () => {
  let r = await post(srv, '/api/v1/auth/register', { username: 'forgetful', password: 'first password 1', email: 'forget@example.org' });
  assert.equal(r.status, 201);
  await mailFor(srv, 'forget@example.org'); // the verification mail
  const old = await login(srv.url, 'forgetful', 'first password 1');
  const before = outbox(srv).length;

  r = await post(srv, '/api/v1/auth/password-reset', { username: 'no.such.user' });
  assert.equal(r.status, 202);
  const unknownBody = await r.json();
  r = await post(srv, '/api/v1/auth/password-reset', { email: 'nobody@example.org' });
  assert.equal(r.status, 202);
  await sleep(100);
  assert.equal(outbox(srv).length, before, 'an unknown account got mail');

  r = await post(srv, '/api/v1/auth/password-reset', { username: 'forgetful' });
  assert.equal(r.status, 202);
  assert.deepEqual(await r.json(), unknownBody);
  const m = await mailFor(srv, 'forget@example.org', { after: 1 });
  assert.equal(outbox(srv).length, before + 1);
  assert.equal(m.subject, 'Reset your tonearm password');
  assert.ok(m.body.includes(`https://music.example.org/reset-password?token=${m.token}`));
  assert.ok(m.body.includes('1 hour'));

  await expectProblem(assert, await post(srv, '/api/v1/auth/password-reset', { username: 42 }), 400);
  // A weak password is refused and leaves the link usable.
  await expectProblem(assert, await post(srv, '/api/v1/auth/password-reset/confirm', { token: m.token, password: 'short' }), 422);
  r = await post(srv, '/api/v1/auth/password-reset/confirm', { token: m.token, password: 'second password 2' });
  assert.equal(r.status, 204);

  await login(srv.url, 'forgetful', 'second password 2');
  await assert.rejects(login(srv.url, 'forgetful', 'first password 1'), /401/);
  await expectProblem(assert, await post(srv, '/api/v1/auth/refresh', { refresh_token: old.refresh_token }), 401);
  await expectProblem(assert, await post(srv, '/api/v1/auth/password-reset/confirm', { token: m.token, password: 'third password 3' }), 400);
});

test('expired links are refused', async () => {
  let r = await post(quick, '/api/v1/auth/register', { username: 'slowpoke', password: 'slow password 01', email: 'slow@example.org' });
  assert.equal(r.status, 201);
  const v = await mailFor(quick, 'slow@example.org');
  assert.ok(v.body.includes('1 second'));
  r = await post(quick, '/api/v1/auth/password-reset', { email: 'SLOW@example.org' });
  assert.equal(r.status, 202);
  const p = await mailFor(quick, 'slow@example.org', { after: 1 });
  await sleep(1300);
  await expectProblem(assert, await post(quick, '/api/v1/auth/verify-email', { token: v.token }), 400);
  await expectProblem(assert, await post(quick, '/api/v1/auth/password-reset/confirm', { token: p.token, password: 'new slow password' }), 400);
  await login(quick.url, 'slowpoke', 'slow password 01');
});

test('line breaks in the e-mail address at registration are refused with 400, and nothing is mailed', async () => {
  const before = outbox(srv).length;
  for (const email of ['evil@example.org\r\nBcc: victim@example.org', 'evil@example.org\nSubject: hi']) {
    const r = await post(srv, '/api/v1/auth/register', { username: 'injector', password: 'inject password 1', email });
    await expectProblem(assert, r, 400);
  }
  await sleep(50);
  assert.equal(outbox(srv).length, before);
  for (const m of outbox(srv)) assert.ok(!m.raw.includes('victim'));
});
