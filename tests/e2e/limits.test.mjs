// Abuse protection end to end: rate limits with the RateLimit headers and 429 + Retry-After,
// sign-in throttling (growing delays, existing and unknown names alike, the owner not locked
// out), header and body size limits, slow clients cut off, connection limits per address,
// CORS from an allowlist, and the security headers on every answer.
//
// One machine has one client address, so the tests run the server with
// trusted_proxies = 127.0.0.1 and play distinct clients through X-Forwarded-For, as they
// would arrive through a reverse proxy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, expectProblem } from './lib/server.mjs';
import { ADMIN_PASSWORD, adminEnv } from './lib/auth.mjs';

let srv;
const ORIGIN = 'https://app.example.org';
const env = {
  ...adminEnv,
  TONEARM_TRUSTED_PROXIES: '127.0.0.1',
  TONEARM_RATE_IP_RPS: '5',
  TONEARM_RATE_IP_BURST: '10',
  TONEARM_RATE_LOGIN_PER_MIN: '1000',
  TONEARM_LOGIN_THROTTLE_AFTER: '3',
  TONEARM_LOGIN_THROTTLE_MAX: '4s',
  TONEARM_MAX_BODY: '64KiB',
  TONEARM_MAX_CONNS_PER_IP: '64',
  // Not 1, 2 or 4 s: a keep-alive connection closed just as a client reuses it after
  // sleeping out a Retry-After is a race in the test, not in the server.
  TONEARM_REQUEST_TIMEOUT: '3s',
  TONEARM_CORS_ORIGINS: `${ORIGIN}, http://localhost:5173`,
};
const from = (addr, extra = {}) => ({ 'x-forwarded-for': addr, ...extra });
const get = (path, headers = {}) => fetch(srv.url + path, { headers });
const loginAs = (addr, username, password) =>
  fetch(srv.url + '/api/v1/auth/login', {
    method: 'POST',
    headers: from(addr, { 'content-type': 'application/json' }),
    body: JSON.stringify({ username, password }),
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => { srv = await startServer({ env }); });
after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, srv.output().slice(-2000));
});

test('a flood from one address gets 429 with Retry-After and RateLimit headers; others are served', async () => {
  const flood = from('192.0.2.10');
  let first = null;
  let seen = 0;
  for (let i = 0; i < 40; i++) {
    const r = await get('/api/v1/version', flood);
    assert.ok(r.headers.get('ratelimit-limit'), 'every limited answer carries RateLimit-Limit');
    assert.equal(r.headers.get('ratelimit-limit'), '10');
    assert.match(r.headers.get('ratelimit-remaining'), /^\d+$/);
    assert.match(r.headers.get('ratelimit-reset'), /^\d+$/);
    if (r.status === 429) {
      seen++;
      if (!first) first = r;
      else await r.body?.cancel();
    } else {
      assert.equal(r.status, 200);
      await r.body?.cancel();
    }
  }
  assert.ok(seen >= 20, `only ${seen} of 40 refused`);
  const body = await expectProblem(assert, first, 429);
  assert.equal(body.title, 'Too Many Requests');
  assert.equal(first.headers.get('retry-after'), '1');
  assert.equal(first.headers.get('ratelimit-remaining'), '0');
  // X-Forwarded-For from a client that is not a trusted proxy would be ignored; the right-most
  // untrusted entry is the client: a forged left part does not buy a fresh bucket. (Asked right
  // after the flood, and judged by the bucket it drew from, not by 429 alone: on a loaded
  // machine the flooded bucket may have refilled a token meanwhile; a fresh one would say 9.)
  const forged = await get('/api/v1/version', from('198.18.0.1, 192.0.2.10'));
  assert.ok(forged.status === 429 || Number(forged.headers.get('ratelimit-remaining')) === 0,
    `forged X-Forwarded-For got status ${forged.status}, remaining ${forged.headers.get('ratelimit-remaining')}`);
  // Another client is not affected, and neither are the health checks of the flooded one.
  const other = await get('/api/v1/version', from('192.0.2.11'));
  assert.equal(other.status, 200);
  assert.equal(other.headers.get('ratelimit-remaining'), '9');
  for (let i = 0; i < 20; i++) assert.equal((await get('/healthz', flood)).status, 200);
  // After the refill the flooder is served again.
  await sleep(1100);
  assert.equal((await get('/api/v1/version', flood)).status, 200);
});

test('sign-in brute force: growing Retry-After, the same for unknown names, the owner still gets in', async () => {
  // The owner signs in from home first: that address is known good for the account.
  let r = await loginAs('198.51.100.7', 'admin', ADMIN_PASSWORD);
  assert.equal(r.status, 200);

  // The same guesses at an existing and a non-existing account, from two addresses.
  const run = async (addr, name) => {
    const trace = [];
    for (let i = 0; i < 4; i++) {
      const x = await loginAs(addr, name, 'wrong password ' + i);
      const b = await x.json();
      trace.push([x.status, x.headers.get('retry-after'), b.title, b.detail]);
    }
    return trace;
  };
  const [real, ghost] = await Promise.all([run('203.0.113.1', 'admin'), run('203.0.113.2', 'nobody-at-all')]);
  assert.deepEqual(real, ghost);
  assert.deepEqual(real.map((t) => t[0]), [401, 401, 401, 429]);
  assert.equal(real[3][1], '1');

  // The delays double: 1 s, then 2 s, then 4 s (the configured cap).
  const delays = [];
  for (let i = 0; i < 3; i++) {
    let x;
    for (;;) {
      x = await loginAs('203.0.113.1', 'admin', 'again wrong');
      if (x.status !== 429) break;
      await sleep(Number(x.headers.get('retry-after')) * 1000);
    }
    assert.equal(x.status, 401);
    x = await loginAs('203.0.113.1', 'admin', 'and again');
    assert.equal(x.status, 429);
    delays.push(Number(x.headers.get('retry-after')));
  }
  assert.deepEqual(delays, [2, 4, 4]);
  // A throttled attempt is refused before the password is checked: even the right one.
  r = await loginAs('203.0.113.1', 'admin', ADMIN_PASSWORD);
  assert.equal(r.status, 429);

  // A botnet: many addresses, each failing once, builds up the account-wide delay …
  for (let i = 0; i < 40; i++) await (await loginAs(`203.0.113.${100 + i}`, 'admin', 'botnet guess')).body?.cancel();
  r = await loginAs('192.0.2.77', 'admin', 'fresh address guess');
  assert.equal(r.status, 429);
  // … but the owner at home signs in at once.
  r = await loginAs('198.51.100.7', 'admin', ADMIN_PASSWORD);
  assert.equal(r.status, 200, await r.text());

  // Lockouts are audited, with the name as typed and never a password.
  await sleep(200);
  const audits = srv.logs().filter((l) => l.msg === 'audit' && l.event === 'login_lockout');
  assert.ok(audits.length >= 3);
  assert.ok(audits.some((l) => l.peer === '203.0.113.1'));
  assert.ok(!srv.output().includes('again wrong'));
});

test('an over-long header is 431 and an over-large body 413, both problem+json', async () => {
  let r = await get('/api/v1/version', from('192.0.2.20', { 'x-junk': 'a'.repeat(20000) }));
  await expectProblem(assert, r, 431);
  r = await fetch(srv.url + '/api/v1/auth/login', {
    method: 'POST', headers: from('192.0.2.20', { 'content-type': 'application/json' }), body: 'x'.repeat(70000),
  });
  await expectProblem(assert, r, 413);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
});

// Send a request head one byte a second; resolves with the seconds until the server closed.
function slowloris() {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = net.connect(srv.port, '127.0.0.1');
    const head = 'GET /api/v1/version HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100);
    let i = 0, timer = null;
    s.on('connect', () => {
      timer = setInterval(() => {
        if (i < head.length) s.write(head[i++]);
      }, 1000);
    });
    const done = () => { clearInterval(timer); resolve((Date.now() - t0) / 1000); };
    s.on('close', done);
    s.on('error', () => {});
    setTimeout(() => { clearInterval(timer); s.destroy(); reject(new Error('not cut off in 15 s')); }, 15000);
  });
}

test('a slow client sending a header byte a second is cut off (request_timeout)', async () => {
  const secs = await slowloris();
  assert.ok(secs >= 2.5 && secs < 7, `closed after ${secs} s`);
  assert.equal((await get('/healthz')).status, 200);
});

test('connections per address are capped (max_conns_per_ip)', async () => {
  // A server of its own: nothing else may hold connections from 127.0.0.1 to it.
  const own = await startServer({ env: { ...adminEnv, TONEARM_MAX_CONNS_PER_IP: '3' } });
  try {
    // Seven clients each send a request. The loops accept in parallel, so which ones are
    // refused is not fixed; exactly three are served, the others closed without an answer.
    const one = () => new Promise((resolve) => {
      const s = net.connect(own.port, '127.0.0.1');
      let got = '';
      s.on('data', (d) => { got += d; });
      s.on('error', () => {});
      s.on('close', () => resolve({ got, s }));
      s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
      // Served ones stay open (keep-alive): settle them once they answered.
      const t = setInterval(() => { if (got.includes('\r\n\r\n')) { clearInterval(t); resolve({ got, s }); } }, 20);
      s.on('close', () => clearInterval(t));
    });
    const all = await Promise.all(Array.from({ length: 7 }, one));
    const served = all.filter((x) => x.got.startsWith('HTTP/1.1 200'));
    const refused = all.filter((x) => x.got === '');
    assert.equal(served.length, 3, all.map((x) => JSON.stringify(x.got.slice(0, 20))).join(' '));
    assert.equal(refused.length, 4);
    for (const x of all) x.s.destroy();
    await sleep(300);
    // Closing them frees the slots.
    const r = await fetch(own.url + '/healthz', { headers: { connection: 'close' } });
    assert.equal(r.status, 200);
  } finally {
    const r = await own.stop();
    assert.equal(r.code, 0, own.output().slice(-2000));
  }
});

test('CORS: preflight allowed for listed origins only; Vary: Origin; never *', async () => {
  const pre = (origin) => fetch(srv.url + '/api/v1/auth/login', {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
  });
  let r = await pre(ORIGIN);
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN);
  assert.match(r.headers.get('access-control-allow-methods'), /POST/);
  assert.equal(r.headers.get('access-control-allow-headers'), 'content-type, authorization');
  assert.equal(r.headers.get('access-control-max-age'), '600');
  assert.match(r.headers.get('vary'), /Origin/);
  assert.equal(r.headers.get('access-control-allow-credentials'), null);
  r = await pre('https://evil.example');
  assert.equal(r.status, 403);
  assert.equal(r.headers.get('access-control-allow-origin'), null);
  r = await pre('https://app.example.org.evil.example');
  assert.equal(r.headers.get('access-control-allow-origin'), null);
  // Actual requests: the allowed origin is echoed, others get nothing; Vary always.
  r = await get('/api/v1/version', { origin: 'http://localhost:5173' });
  assert.equal(r.headers.get('access-control-allow-origin'), 'http://localhost:5173');
  assert.match(r.headers.get('access-control-expose-headers'), /ratelimit-remaining/);
  r = await get('/api/v1/version', { origin: 'https://evil.example' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('access-control-allow-origin'), null);
  assert.equal(r.headers.get('vary'), 'Origin');
});

test('security headers on every answer, ours and h2o\'s', async () => {
  const answers = [
    await get('/api/v1/version'),
    await get('/no/such/thing'),
    await get('/api/v1/me'),
    await fetch(srv.url + '/api/v1/version', { method: 'BREW' }),
  ];
  for (const r of answers) {
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${r.url} ${r.status}`);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    // Plain HTTP: no HSTS (tls.test.mjs checks it over HTTPS).
    assert.equal(r.headers.get('strict-transport-security'), null);
  }
});
