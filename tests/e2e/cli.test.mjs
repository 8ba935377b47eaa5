// The command line and configuration: precedence (flag > environment > file > default), errors
// that name the bad key, `migrate`, `version`, readiness when a backend is down, and signals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTonearm, startServer, backendEnv, expectProblem } from './lib/server.mjs';

const tmp = () => mkdtempSync(join(tmpdir(), 'tonearm-cli-'));

test('version prints the version', async () => {
  const r = await runTonearm(['version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^tonearm \d+\.\d+\.\d+/);
});

test('an unknown subcommand or flag is a usage error', async () => {
  let r = await runTonearm(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /frobnicate/);
  r = await runTonearm(['serve', '--no-such-flag']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no-such-flag/);
});

test('an unknown key in the config file is an error naming the key and line', async () => {
  const d = tmp();
  const f = join(d, 'tonearm.conf');
  writeFileSync(f, '# comment\nlisten = 127.0.0.1:0\nlisne = oops\n');
  const r = await runTonearm(['serve', '--config', f, '--data', d]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /lisne/);
  assert.match(r.stderr, /:3/);
  rmSync(d, { recursive: true, force: true });
});

test('a bad value is an error naming the key', async () => {
  const d = tmp();
  let r = await runTonearm(['serve', '--data', d], { env: { TONEARM_MAX_BODY: 'lots' } });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /max_body/i);
  r = await runTonearm(['serve', '--data', d], { env: { TONEARM_NO_SUCH_KEY: '1' } });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /TONEARM_NO_SUCH_KEY/);
  r = await runTonearm(['serve', '--data', d, '--listen', 'nowhere']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /listen/);
  rmSync(d, { recursive: true, force: true });
});

test('flag beats environment beats file', async () => {
  const d = tmp();
  const f = join(d, 'tonearm.conf');
  writeFileSync(f, 'log_level = error\nthreads = 1\n');
  // file says threads=1, env says 2, flag says 3 → 3; log_level only in the file → error.
  const r = await runTonearm(['config', '--config', f, '--data', d, '--threads', '3'], {
    env: { TONEARM_THREADS: '2' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /threads\s*=\s*3\s+\(flag\)/);
  assert.match(r.stdout, /log_level\s*=\s*error\s+\(file\)/);
  const r2 = await runTonearm(['config', '--config', f, '--data', d], { env: { TONEARM_THREADS: '2' } });
  assert.match(r2.stdout, /threads\s*=\s*2\s+\(environment\)/);
  rmSync(d, { recursive: true, force: true });
});

test('migrate applies the schema once and is idempotent', async () => {
  const d = tmp();
  const env = backendEnv();
  let r = await runTonearm(['migrate', '--data', d], { env });
  assert.equal(r.code, 0, r.stderr);
  if (!env.TONEARM_DB) assert.ok(existsSync(join(d, 'tonearm.db')), 'the SQLite file lives under --data');
  r = await runTonearm(['migrate', '--data', d], { env });
  assert.equal(r.code, 0, r.stderr);
  r = await runTonearm(['migrate', '--status', '--data', d], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /0001\s+init\s+applied/);
  rmSync(d, { recursive: true, force: true });
});

test('readyz is 503 when the object store is unreachable, healthz stays 200', async () => {
  const srv = await startServer({
    backends: false,
    env: {
      TONEARM_STORE: 's3://nowhere?endpoint=http://127.0.0.1:9&region=us-east-1&path_style=true',
      TONEARM_S3_ACCESS_KEY: 'x', TONEARM_S3_SECRET_KEY: 'y',
    },
  });
  try {
    assert.equal((await fetch(srv.url + '/healthz')).status, 200);
    const body = await expectProblem(assert, await fetch(srv.url + '/readyz'), 503);
    assert.match(body.detail, /store/);
  } finally {
    await srv.stop();
  }
});

test('SIGINT stops the server cleanly too, and it starts fast', async () => {
  const srv = await startServer();
  assert.ok(srv.startMs < 2000, `started in ${srv.startMs} ms`);
  assert.equal((await fetch(srv.url + '/healthz')).status, 200);
  const r = await srv.stop('SIGINT');
  assert.equal(r.code, 0);
  assert.ok(srv.logs().some((l) => l.msg === 'stopped'), 'logs that it stopped');
});

test('a busy port is a clear error, not a second server silently sharing it', async () => {
  const srv = await startServer();
  const d = tmp();
  try {
    const r = await runTonearm(['serve', '--data', d, '--listen', `127.0.0.1:${srv.port}`], { timeout: 5000 });
    assert.notEqual(r.code, 0);
    assert.equal(r.signal, null, 'exits by itself');
    assert.match(r.stderr, /in use/i);
  } finally {
    rmSync(d, { recursive: true, force: true });
    await srv.stop();
  }
});
