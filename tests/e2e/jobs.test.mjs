// The job queue end to end. The kill test: `tonearm worker` processes share one data folder
// (and a PostgreSQL database when TA_E2E_DB is a postgres URL) with a 2 s lease, run ~20 `sleep`
// jobs that write an object then a row, and are SIGKILLed at random moments and replaced;
// every job must end done, no row may name a missing object, and the killed jobs were retried.
// Then the server: its worker threads, the admin job list, and a track's status after upload.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, runTonearm, backendEnv, expectProblem, cleanEnv, logLines, BIN } from './lib/server.mjs';
import { ADMIN_PASSWORD, login, bearer } from './lib/auth.mjs';

const dirs = [];
const procs = new Set();
after(() => {
  for (const p of procs) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The database comes from the run (sqlite or a fresh postgres database); the store is always a
// file store here, so the test can look at the objects themselves.
function jobsEnv(extra = {}) {
  const env = backendEnv();
  delete env.TONEARM_STORE;
  return { ...env, TONEARM_TEST_JOBS: 'true', TONEARM_JOB_LEASE: '2s', ...extra };
}

async function cli(args, env) {
  const r = await runTonearm(args, { env, timeout: 30000 });
  assert.equal(r.code, 0, `tonearm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const jsonLines = (text) => text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

function startWorker(dir, env) {
  const p = spawn(BIN, ['worker', '--jobs', '2', '--data', dir], { env: cleanEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  p.output = () => err;
  p.exited = new Promise((resolve) => p.on('exit', (code, signal) => { procs.delete(p); resolve({ code, signal }); }));
  procs.add(p);
  return p;
}

test('kill test: workers SIGKILLed at random moments lose no job and leave no dangling row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tonearm-jobs-e2e-'));
  dirs.push(dir);
  const env = jobsEnv({ TONEARM_LOG_LEVEL: 'warn' });
  const N = 20;
  const ids = [];
  for (let i = 0; i < N; i++) {
    const payload = JSON.stringify({ ms: 1500, steps: 6, write: `kill/job-${i}` });
    ids.push((await cli(['jobs', 'enqueue', 'sleep', `subject-${i}`, payload, '--data', dir], env)).trim());
  }
  // Enqueueing again while pending is idempotent.
  const again = (await cli(['jobs', 'enqueue', 'sleep', 'subject-0', '{}', '--data', dir], env)).trim();
  assert.equal(again, ids[0]);

  let workers = [startWorker(dir, env), startWorker(dir, env), startWorker(dir, env)];
  let kills = 0;
  for (let round = 0; round < 6; round++) {
    await sleep(400 + Math.floor(Math.random() * 900));
    const victim = workers[Math.floor(Math.random() * workers.length)];
    victim.kill('SIGKILL');
    await victim.exited;
    kills++;
    workers = workers.filter((w) => w !== victim);
    workers.push(startWorker(dir, env));
  }

  let jobs = [];
  const end = Date.now() + 90000;
  for (;;) {
    jobs = jsonLines(await cli(['jobs', 'list', '--data', dir], env));
    if (jobs.length === N && jobs.every((j) => j.state === 'done')) break;
    if (Date.now() > end) assert.fail('jobs did not all finish: ' + JSON.stringify(jobs.filter((j) => j.state !== 'done')));
    await sleep(500);
  }
  assert.equal(kills, 6);
  assert.deepEqual(jobs.map((j) => j.id).sort(), [...ids].sort());

  // Every row names an object that exists and was written by that job; one row per job.
  const rows = jsonLines(await cli(['jobs', 'test-writes', '--data', dir], env));
  assert.equal(rows.length, N);
  for (const r of rows) {
    const path = join(dir, 'objects', r.object_key);
    assert.ok(existsSync(path), `row ${r.object_key} names a missing object`);
    const obj = JSON.parse(readFileSync(path, 'utf8'));
    assert.equal(obj.job, r.job_id);
    assert.ok(ids.includes(r.job_id));
  }
  // The killed workers' jobs were claimed again after their leases expired.
  const retried = jobs.filter((j) => j.attempts > 1);
  assert.ok(retried.length > 0, 'no job was retried: the kills hit nothing? ' + JSON.stringify(jobs));
  assert.ok(jobs.every((j) => j.attempts <= 5));

  // A graceful stop: SIGTERM lets the workers finish and exit 0.
  for (const w of workers) w.kill('SIGTERM');
  for (const w of workers) {
    const r = await w.exited;
    assert.equal(r.code, 0, w.output());
  }
});

test('serve runs jobs on its worker threads; admin list; track status after an upload', async () => {
  const env = jobsEnv({ TONEARM_WORKERS: '2' });
  const srv = await startServer({ env, backends: false, keepData: true });
  dirs.push(srv.dataDir);
  try {
    const auth = bearer((await login(srv.url, 'admin', ADMIN_PASSWORD)).access_token);
    const api = (path, opts = {}) => fetch(srv.url + '/api/v1' + path, { ...opts, headers: { ...auth, ...(opts.headers || {}) } });

    const ok = (await cli(['jobs', 'enqueue', 'sleep', 'served', JSON.stringify({ ms: 200, steps: 2 }), '--data', srv.dataDir], env)).trim();
    const bad = (await cli(['jobs', 'enqueue', 'sleep', 'always-fails', JSON.stringify({ ms: 10, steps: 1, fail: 99 }), '--data', srv.dataDir], env)).trim();
    let list;
    const end = Date.now() + 60000;
    for (;;) {
      const r = await api('/admin/jobs?kind=sleep');
      assert.equal(r.status, 200);
      list = await r.json();
      const byId = Object.fromEntries(list.items.map((j) => [j.id, j]));
      if (byId[ok]?.state === 'done' && byId[bad]?.state === 'failed') break;
      if (Date.now() > end) assert.fail('jobs not settled: ' + JSON.stringify(list));
      await sleep(200);
    }
    const failed = list.items.find((j) => j.id === bad);
    assert.equal(failed.attempts, 5);
    assert.match(failed.error, /failing on purpose/);
    assert.equal(list.counts.failed >= 1, true);
    const onlyFailed = await (await api('/admin/jobs?state=failed')).json();
    assert.deepEqual(onlyFailed.items.map((j) => j.id), [bad]);
    await expectProblem(assert, await api('/admin/jobs?state=bogus'), 400);
    await expectProblem(assert, await fetch(srv.url + '/api/v1/admin/jobs'), 401);

    // An uploaded track gets a transcode job once its row is in; its status follows the job.
    const file = join(srv.dataDir, 'tone.flac');
    execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=f=440:d=1', '-c:a', 'flac', file]);
    const up = await api('/tracks?name=tone.flac', { method: 'POST', body: readFileSync(file), headers: { 'content-type': 'audio/flac' } });
    assert.equal(up.status, 201, await up.clone().text());
    const track = await up.json();
    const st = await api(`/tracks/${track.id}/status`);
    assert.equal(st.status, 200);
    const status = await st.json();
    assert.equal(status.track_id, track.id);
    assert.ok(['pending', 'processing', 'ready', 'failed'].includes(status.state));
    assert.equal(typeof status.progress, 'number');
    // The transcode handler (src/stream/) runs on serve's workers: the track becomes ready.
    let last = status;
    const until = Date.now() + 60000;
    while (last.state !== 'ready' && last.state !== 'failed' && Date.now() < until) {
      await sleep(250);
      last = await (await api(`/tracks/${track.id}/status`)).json();
    }
    assert.equal(last.state, 'ready', JSON.stringify(last));
    assert.equal(last.progress, 1);
    assert.equal(last.attempts, 1);
    assert.equal(last.error, null);
    const tj = await (await api('/admin/jobs?kind=transcode')).json();
    assert.deepEqual(tj.items.map((j) => j.subject), [track.id]);
    await expectProblem(assert, await api('/tracks/01ARZ3NDEKTSV4RRFFQ69G5FAV/status'), 404);
    const metrics = await (await fetch(srv.url + '/metrics')).text();
    assert.match(metrics, /tonearm_jobs_total\{kind="sleep",outcome="done"\} [1-9]/);
    assert.match(metrics, /tonearm_jobs_total\{kind="sleep",outcome="failed"\} 1/);
    assert.match(metrics, /tonearm_jobs_in_flight /);
  } finally {
    const r = await srv.stop();
    assert.equal(r.code, 0, srv.output().slice(-2000));
    assert.ok(logLines(srv.output()).some((l) => l.msg === 'job workers stopped'));
  }
});
