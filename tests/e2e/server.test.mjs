// The server end to end: system routes, errors as problem+json, request ids, HTTP/2, bad input
// over a raw socket, metrics that promtool accepts, and a clean stop on SIGTERM and SIGINT.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import http2 from 'node:http2';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startServer, expectProblem } from './lib/server.mjs';

let srv;
// Log lines are written in batches (an event loop flushes its buffer every 100 ms): poll.
async function waitFor(fn, ms = 3000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v || Date.now() > end) return v;
    await new Promise((res) => setTimeout(res, 10));
  }
}

before(async () => { srv = await startServer(); });
after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, 'server exits 0 on SIGTERM:\n' + srv.output().slice(-2000));
});

// Send raw bytes and collect the whole answer (the server closes or we time out).
function raw(port, bytes, ms = 3000) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => (data += d));
    s.on('error', () => {});
    const done = () => { s.destroy(); resolve(data); };
    s.on('close', done);
    setTimeout(done, ms);
    s.write(bytes);
  });
}

test('healthz and readyz answer', async () => {
  let r = await fetch(srv.url + '/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { status: 'ok' });
  r = await fetch(srv.url + '/readyz');
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.status, 'ready');
  assert.deepEqual(body.checks, { db: 'ok', store: 'ok' });
});

test('version names the backends in use', async () => {
  const r = await fetch(srv.url + '/api/v1/version');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  const v = await r.json();
  assert.equal(v.name, 'tonearm');
  assert.match(v.version, /^\d+\.\d+\.\d+$/);
  const db = process.env.TA_E2E_DB || 'sqlite';
  assert.equal(v.db, db.startsWith('postgres') ? 'postgres' : 'sqlite');
  const store = process.env.TA_E2E_STORE || 'file';
  assert.equal(v.store, store.startsWith('s3') ? 's3' : 'file');
});

test('unknown route is a 404 problem, wrong method a 405 with Allow', async () => {
  let r = await fetch(srv.url + '/no/such/thing');
  await expectProblem(assert, r, 404);
  r = await fetch(srv.url + '/api/v1/version', { method: 'DELETE' });
  await expectProblem(assert, r, 405);
  assert.match(r.headers.get('allow') || '', /GET/);
  r = await fetch(srv.url + '/api/v1/version', { method: 'HEAD' });
  assert.equal(r.status, 200);
});

test('path traversal, NUL and invalid UTF-8 in paths are 400 problems', async () => {
  for (const p of ['/api/v1/%2e%2e/version', '/api/%00/version', '/api/v1/%ff%fe', '/a/../healthz']) {
    // fetch normalises literal "..": send these raw so the server sees them as written.
    const ans = await raw(srv.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(ans, /^HTTP\/1\.1 400 /, `${p}: ${ans.slice(0, 80)}`);
    assert.match(ans, /application\/problem\+json/i, p);
  }
});

test('a query string with thousands of parameters is refused', async () => {
  const q = Array.from({ length: 5000 }, (_, i) => `p${i}=${i}`).join('&');
  const r = await fetch(`${srv.url}/api/v1/version?${q}`);
  await expectProblem(assert, r, 400);
});

test('request ids are honoured or made, and traceparent is read', async () => {
  let r = await fetch(srv.url + '/healthz', { headers: { 'x-request-id': 'abc-123' } });
  assert.equal(r.headers.get('x-request-id'), 'abc-123');
  // Over 128 bytes is not a usable id: the server makes its own.
  r = await fetch(srv.url + '/healthz', { headers: { 'x-request-id': 'x'.repeat(300) } });
  const made = r.headers.get('x-request-id');
  assert.ok(made && made.length >= 16 && made.length <= 128, 'a new id replaces an unusable one: ' + made);
  assert.notEqual(made, 'x'.repeat(300));
  const trace = '0af7651916cd43dd8448eb211c80319c';
  r = await fetch(srv.url + '/api/v1/version', {
    headers: { traceparent: `00-${trace}-b7ad6b7169203331-01`, 'x-request-id': 'trace-test-1' },
  });
  assert.equal(r.status, 200);
  const line = await waitFor(() => srv.logs().find((l) => l.request_id === 'trace-test-1'));
  assert.ok(line, 'an access log line carries the request id');
  assert.equal(line.trace_id, trace);
  assert.equal(line.status, 200);
});

test('malformed requests get a 4xx and the server keeps serving', async () => {
  const bad = [
    'GARBAGE\r\n\r\n',
    'GET / HTTP/9.9\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(200000) + '\r\n\r\n',
    'POST /api/v1/version HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n',
  ];
  for (const b of bad) {
    const ans = await raw(srv.port, b);
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(ans);
    if (m) assert.ok(+m[1] >= 400 && +m[1] < 500, `${JSON.stringify(b.slice(0, 40))} → ${m[1]}`);
    // else the server closed the connection without an answer, which is also a refusal
    const ok = await fetch(srv.url + '/healthz');
    assert.equal(ok.status, 200, 'still serving after ' + JSON.stringify(b.slice(0, 40)));
  }
});

test('HTTP/2 with prior knowledge works', async () => {
  const client = http2.connect(srv.url);
  try {
    const { status, body } = await new Promise((resolve, reject) => {
      const req = client.request({ ':path': '/api/v1/version' });
      let status = 0, body = '';
      req.on('response', (h) => (status = h[':status']));
      req.on('data', (d) => (body += d));
      req.on('end', () => resolve({ status, body }));
      req.on('error', reject);
    });
    assert.equal(status, 200);
    assert.equal(JSON.parse(body).name, 'tonearm');
  } finally {
    client.close();
  }
});

test('metrics are valid Prometheus text and count requests', async () => {
  await fetch(srv.url + '/healthz');
  const r = await fetch(srv.url + '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  const text = await r.text();
  assert.match(text, /tonearm_http_requests_total\{[^}]*route="healthz"[^}]*\} \d+/);
  assert.match(text, /tonearm_http_request_duration_seconds_bucket/);
  assert.match(text, /process_resident_memory_bytes \d/);
  const promtool = '/usr/bin/promtool';
  if (existsSync(promtool)) {
    const p = spawnSync(promtool, ['check', 'metrics'], { input: text });
    assert.equal(p.status, 0, 'promtool check metrics: ' + p.stdout + p.stderr);
  } else if (process.env.CI) {
    assert.fail('promtool is missing (Debian package prometheus)');
  }
});

test('access log lines reach a pipe promptly, and none is lost at SIGTERM', async () => {
  const s = await startServer({ backends: false });
  try {
    let r = await fetch(s.url + '/healthz', { headers: { 'x-request-id': 'prompt-1' } });
    assert.equal(r.status, 200);
    const t0 = Date.now();
    assert.ok(await waitFor(() => s.logs().find((l) => l.request_id === 'prompt-1')), 'the line arrives');
    // The flush timer is 100 ms; allow for a loaded machine, but not for "when the buffer fills".
    assert.ok(Date.now() - t0 < 2000, `the line took ${Date.now() - t0} ms`);
    // A burst, then an immediate stop: the loops drain and write what they buffered.
    // 16 at a time: under the per-address connection limit; a 429 is logged like any answer.
    const n = 320;
    for (let i = 0; i < n; i += 16)
      await Promise.all(Array.from({ length: 16 }, (_, j) =>
        fetch(s.url + '/api/v1/version', { headers: { 'x-request-id': `burst-${i + j}` } }).then((res) => res.arrayBuffer())));
    assert.deepEqual(await s.stop('SIGTERM'), { code: 0, signal: null });
    // Under the sanitizers, LeakSanitizer's report of suppressed leaks follows the last line.
    let lines = s.logs();
    const report = lines.findIndex((l) => l.unparsed && /^-{20,}$/.test(l.unparsed));
    if (report >= 0) lines = lines.slice(0, report);
    for (const l of lines) assert.ok(!l.unparsed, 'unparsable log line: ' + l.unparsed);
    const ids = new Set(lines.filter((l) => l.msg === 'http request' && /^burst-/.test(l.request_id)).map((l) => l.request_id));
    assert.equal(ids.size, n, 'every request of the burst is logged once it has stopped');
  } finally {
    await s.stop();
  }
});

test('every log line is one JSON object with time, level and msg', async () => {
  for (const l of srv.logs()) {
    assert.ok(!l.unparsed, 'unparsable log line: ' + l.unparsed);
    assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(['debug', 'info', 'warn', 'error'].includes(l.level));
    assert.equal(typeof l.msg, 'string');
  }
});
