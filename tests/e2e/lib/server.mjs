// Starts the built tonearm server for a test: a free port on 127.0.0.1, a temporary data folder,
// the database and store the run asks for (TA_E2E_DB: "sqlite" or a postgres:// URL of a server the
// test runner started; TA_E2E_STORE: "file" or an s3:// URL), and stops it when the test is done.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { adminEnv } from './auth.mjs';

export const BIN = process.env.TA_BIN || new URL('../../../build/tonearm', import.meta.url).pathname;

// A fresh PostgreSQL database per server, so tests never see each other's rows.
function freshPostgres(url) {
  const name = 'e2e_' + randomBytes(6).toString('hex');
  execFileSync('psql', [url, '-q', '-c', `CREATE DATABASE ${name}`], { stdio: 'pipe' });
  const u = new URL(url);
  u.pathname = '/' + name;
  return u.toString();
}

// The environment that selects the backends for this run.
export function backendEnv() {
  const env = {};
  const db = process.env.TA_E2E_DB || 'sqlite';
  if (db.startsWith('postgres')) env.TONEARM_DB = freshPostgres(db);
  const store = process.env.TA_E2E_STORE || 'file';
  if (store.startsWith('s3://')) {
    // A prefix of our own inside the shared test bucket is not possible with a bucket URL, so
    // objects of concurrent servers share the bucket; keys are content-addressed and unique.
    env.TONEARM_STORE = store;
    env.TONEARM_S3_ACCESS_KEY = process.env.TA_TEST_S3_ACCESS_KEY || '';
    env.TONEARM_S3_SECRET_KEY = process.env.TA_TEST_S3_SECRET_KEY || '';
  }
  return env;
}

// Environment for child processes: ours without any TONEARM_* a developer may have set.
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TONEARM_')) env[k] = v;
  return { ...env, ...extra };
}

// Run a tonearm subcommand to completion; returns { code, stdout, stderr }.
export function runTonearm(args, { env = {}, timeout = 20000 } = {}) {
  return new Promise((resolve) => {
    const p = spawn(BIN, args, { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeout);
    p.on('exit', (code, signal) => { clearTimeout(t); resolve({ code, signal, stdout, stderr }); });
  });
}

// Parse the JSON log lines a process wrote.
export function logLines(text) {
  return text.split('\n').filter((l) => l.trim()).map((l) => {
    try { return JSON.parse(l); } catch { return { unparsed: l }; }
  });
}

// Start `tonearm serve` and wait for its "listening" log line. Returns
// { url, port, proc, dataDir, logs(), stop(signal) }.
export async function startServer({ args = [], env = {}, backends = true, keepData = false } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tonearm-e2e-'));
  // A known first admin password (lib/auth.mjs), so the server prints none and tests can sign in.
  const fullEnv = cleanEnv({ ...(backends ? backendEnv() : {}), ...adminEnv, ...env });
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, ...args], {
    env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (d) => { out += d; };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const started = Date.now();
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start in 15 s:\n' + out)), 15000);
    const check = () => {
      for (const l of logLines(out)) {
        if (l.msg === 'listening' && l.port) { clearTimeout(timer); resolve(l.port); return true; }
      }
      return false;
    };
    proc.stdout.on('data', check);
    proc.stderr.on('data', check);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${out}`)); });
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let stopped = null;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    dataDir,
    startMs: Date.now() - started,
    logs: () => logLines(out),
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM') {
      if (!stopped) {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
        const kill = setTimeout(() => proc.kill('SIGKILL'), 15000);
        stopped = await exited;
        clearTimeout(kill);
        if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      }
      return stopped;
    },
  };
}

// Expect an RFC 9457 problem: the status, the media type and the members.
export async function expectProblem(assert, res, status) {
  assert.equal(res.status, status, `status ${res.status}, wanted ${status}`);
  assert.match(res.headers.get('content-type') || '', /^application\/problem\+json/);
  const body = await res.json();
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.ok(body.title.length > 0);
  return body;
}
