// Folder import and the plain upload end to end: the fixture corpus through `tonearm import`
// (copy and --in-place, not on a terminal), a second run that skips everything, the imported
// albums browsed over /api/v1 from a server running on the same data, POST /api/v1/tracks
// (new, duplicate, refused, bad name, too large), the quarantine list, and --watch following a
// folder as files come and go.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, copyFileSync, mkdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { startServer, runTonearm, backendEnv, expectProblem, cleanEnv, BIN } from './lib/server.mjs';
import { ADMIN_PASSWORD, login, bearer } from './lib/auth.mjs';

const MAKE_CORPUS = new URL('../fixtures/make-corpus.sh', import.meta.url).pathname;
const MAX_BODY = 2 * 1024 * 1024;
let work, corpus, manifest, srv, env, auth;

function tone(path, title, freq) {
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=f=${freq}:d=2`,
    '-metadata', `title=${title}`, '-metadata', 'artist=E2E Artist', '-c:a', 'flac', path]);
}

function summary(stdout) {
  const n = (k) => Number((new RegExp(`^\\s+${k}:\\s+(\\d+)`, 'm').exec(stdout) || [])[1]);
  return { imported: n('imported'), duplicates: n('duplicates'), skipped: n('skipped'), refused: n('refused') };
}

const api = (path, opts = {}) => fetch(srv.url + '/api/v1' + path, { ...opts, headers: { ...auth, ...(opts.headers || {}) } });

async function until(fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tonearm-import-e2e-'));
  corpus = join(work, 'corpus');
  execFileSync(MAKE_CORPUS, [corpus], { stdio: 'pipe' });
  manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8'));
  env = backendEnv();
  srv = await startServer({ env, backends: false, args: ['--max-body', String(MAX_BODY)] });
  auth = bearer((await login(srv.url, 'admin', ADMIN_PASSWORD)).access_token);
});

after(async () => {
  if (srv) {
    const r = await srv.stop();
    assert.equal(r.code, 0, srv.output().slice(-2000));
  }
  rmSync(work, { recursive: true, force: true });
});

const total = () => manifest.files.length;
const bad = () => manifest.files.filter((f) => f.format === 'bad');

test('import copies the corpus in, refuses each bad file with a reason, and skips it all the second time', async () => {
  const r = await runTonearm(['import', '--data', srv.dataDir, '--jobs', '2', corpus], { env, timeout: 120000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const s = summary(r.stdout);
  assert.equal(s.imported + s.duplicates + s.refused, total(), r.stdout);
  assert.equal(s.skipped, 0);
  // Every refusal names a bad file (or one only required not to crash the reader, like a tag
  // claiming 256 MiB) and why; every bad file but the known gap (a cut CBR MP3 without a Xing
  // header, see tests/contract/ingest_corpus_test.c) is refused.
  const refused = [...r.stdout.matchAll(/^\s+refused (\S.*?): (.+)$/gm)].map((m) => [m[1], m[2]]);
  assert.equal(refused.length, s.refused);
  for (const [path, why] of refused) {
    assert.ok(manifest.files.some((f) => f.path === path && (f.format === 'bad' || f.read === 'no_crash')),
      `${path} refused: ${why}`);
    assert.ok(why.length > 5);
  }
  assert.ok(s.refused >= bad().length - 1, r.stdout);
  assert.match(r.stdout, /refused bad\/text\.mp3: not an audio file/);
  assert.match(r.stdout, /refused bad\/empty\.flac: empty file/);
  assert.match(r.stdout, /refused bad\/truncated-half\.flac: truncated or corrupt/);
  // Not a terminal: plain progress lines, no carriage returns.
  assert.match(r.stderr, new RegExp(`import: ${total()}/${total()} files`));
  assert.doesNotMatch(r.stderr, /\r/);

  const t0 = Date.now();
  const again = await runTonearm(['import', '--data', srv.dataDir, corpus], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(summary(again.stdout), { imported: 0, duplicates: 0, skipped: total(), refused: 0 });
  assert.ok(Date.now() - t0 < 5000, 'the second run reads no file');
});

test('the imported albums and tracks are browsable from a server on the same data', async () => {
  const albums = await (await api('/albums?limit=500')).json();
  const formats = albums.items.find((a) => a.title === 'Formats Album');
  assert.ok(formats, JSON.stringify(albums.items.map((a) => a.title)));
  const album = await (await api('/albums/' + formats.id)).json();
  assert.ok(album.tracks.length >= 5);
  const tracks = await (await api('/tracks?limit=500')).json();
  const jp = tracks.items.find((t) => t.title === '夜に駆ける');
  assert.ok(jp);
  assert.equal(jp.artists[0].name, 'YOASOBI');
  let one = await (await api('/tracks/' + jp.id)).json();
  assert.equal(one.format.codec, 'flac');
  // The import queued a `transcode` job per track, which analyses it in the ladder's decode:
  // the server's workers record it once the track's turn comes (each file of the corpus is
  // transcoded, two at a time).
  for (let i = 0; i < 900 && !(one.loudness && one.loudness.integrated_lufs < 0); i++) {
    await new Promise((r) => setTimeout(r, 100));
    one = await (await api('/tracks/' + jp.id)).json();
  }
  assert.ok(one.loudness.integrated_lufs < 0, JSON.stringify(one.loudness));
  const comp = albums.items.find((a) => a.title === 'Compilation Hits');
  assert.equal(comp.artist.name, 'Various Artists');
});

test('import --in-place reads the files where they are; a second run skips them', async () => {
  const env2 = backendEnv();
  const data = join(work, 'in-place-data');
  const r = await runTonearm(['import', '--in-place', '--data', data, corpus], { env: env2, timeout: 120000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const s = summary(r.stdout);
  assert.ok(s.imported >= total() - bad().length, r.stdout);
  assert.equal(s.imported + s.duplicates + s.refused, total());
  const again = await runTonearm(['import', '--in-place', '--data', data, corpus], { env: env2 });
  assert.equal(summary(again.stdout).skipped, total(), again.stdout);
});

// POST with a Content-Length of `length` and only the first 64 KiB of the body, over a raw
// socket; resolves with the answer's status line and body.
function declaredTooLarge(path, length) {
  return new Promise((resolve, reject) => {
    const s = net.connect(srv.port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error('no answer before the body: ' + out)); }, 10000);
    s.on('connect', () => {
      const head = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', `Authorization: ${auth.authorization}`,
        'Content-Type: audio/flac', `Content-Length: ${length}`, '', ''].join('\r\n');
      s.write(head);
      s.write(Buffer.alloc(65536, 1));
    });
    s.on('data', (d) => {
      out += d;
      const end = out.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(out);
      if (end >= 0 && len && out.length >= end + 4 + Number(len[1])) {
        clearTimeout(timer);
        s.destroy();
        resolve({ head: out.slice(0, out.indexOf('\r\n')), body: out.slice(end + 4) });
      }
    });
    s.on('error', () => {}); // a reset after the answer is fine; no answer is the timeout above
  });
}

test('POST /api/v1/tracks: new, duplicate, refused, bad name, too large; the server keeps serving', async () => {
  const file = join(work, 'upload.flac');
  tone(file, 'Uploaded Tone', 523);
  const bytes = readFileSync(file);
  const post = (query, body, headers = {}) => api('/tracks' + query, {
    method: 'POST', body, headers: { 'content-type': 'audio/flac', ...headers },
  });

  const r1 = await post('', bytes, { 'content-disposition': "attachment; filename*=UTF-8''upload%20tone.flac" });
  assert.equal(r1.status, 201, await r1.clone().text());
  const t1 = await r1.json();
  assert.equal(t1.title, 'Uploaded Tone');
  assert.equal(r1.headers.get('location'), '/api/v1/tracks/' + t1.id);
  const r2 = await post('?name=again.flac', bytes);
  assert.equal(r2.status, 200);
  assert.equal((await r2.json()).id, t1.id);
  assert.equal(r2.headers.get('location'), '/api/v1/tracks/' + t1.id);

  const text = readFileSync(join(corpus, 'bad/text.mp3'));
  const p = await expectProblem(assert, await post('?name=notes.mp3', text, { 'content-type': 'audio/mpeg' }), 422);
  assert.match(p.detail, /not an audio file/);
  await expectProblem(assert, await post('?name=' + encodeURIComponent('../evil.mp3'), bytes), 400);
  await expectProblem(assert, await post('', bytes, { 'content-disposition': 'attachment; filename="a\\\\b.flac"' }), 400);
  await expectProblem(assert, await post('?name=x.flac', bytes, { 'content-type': 'text/plain' }), 415);
  // Declared too large: the 413 comes at once, before the body. (A fetch of the whole 2 MiB
  // races the server closing the connection against the client still writing: "fetch failed".)
  const tooBig = await declaredTooLarge('/api/v1/tracks?name=big.flac', MAX_BODY + 1024);
  assert.match(tooBig.head, /^HTTP\/1\.1 413 /);
  assert.match(tooBig.body, /"status":413/);

  assert.equal((await fetch(srv.url + '/healthz')).status, 200);
  const q = await (await api('/quarantine?limit=50')).json();
  const entry = q.items.find((i) => i.name === 'notes.mp3');
  assert.ok(entry, JSON.stringify(q));
  assert.equal(entry.source, 'upload');
  assert.match(entry.reason, /not an audio file/);
  assert.ok(q.items.some((i) => i.name === 'bad/text.mp3' && i.source === 'import'));
  // Admins only.
  assert.equal((await fetch(srv.url + '/api/v1/quarantine')).status, 401);
});

test('import --in-place --watch picks up a new file within seconds and drops it when deleted', async () => {
  const dir = join(work, 'watched');
  mkdirSync(join(dir, 'Artist', 'Album'), { recursive: true });
  copyFileSync(join(corpus, 'formats/flac.flac'), join(dir, 'Artist', 'Album', '01 First.flac'));
  const proc = spawn(BIN, ['import', '--in-place', '--watch', '--data', srv.dataDir, dir], {
    env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    await until(() => /watching /.test(out), 60000);
    const find = async () => (await (await api('/tracks?q=watched%20song&limit=10')).json()).items;
    assert.equal((await find()).length, 0);
    // Written elsewhere and moved in, as a copy tool would finish a file.
    const tmp = join(work, 'new.flac');
    tone(tmp, 'Watched Song', 880);
    copyFileSync(tmp, join(dir, 'Artist', 'Album', '02 Watched.flac'));
    await until(async () => (await find()).length === 1);
    await until(() => /added Artist\/Album\/02 Watched\.flac/.test(out));
    unlinkSync(join(dir, 'Artist', 'Album', '02 Watched.flac'));
    await until(async () => (await find()).length === 0);
    // The line may follow the database change by a moment.
    await until(() => /removed Artist\/Album\/02 Watched\.flac/.test(out));
  } finally {
    proc.kill('SIGINT');
  }
  const r = await exited;
  assert.equal(r.code, 0, out);
});
