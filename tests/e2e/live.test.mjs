// On-the-fly transcodes end to end: a server with no job workers (so no ladder is ever made)
// plays a freshly uploaded track at once; `format=mp3|opus|aac` with `maxBitRate` gives a
// stream ffmpeg decodes to the source's length; the second request is served from the cached
// copy with Range, ETag and conditionals; accounts get no more than their bit rate; hostile or
// broken requests and a source damaged after ingest get clear problems or a cut connection,
// never a cached short copy, and the server keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, expectProblem, logLines } from './lib/server.mjs';
import { ADMIN_PASSWORD, login, bearer } from './lib/auth.mjs';

const SECONDS = 12;
let srv, admin, free, track, damaged;

async function get(path, headers = {}) {
  return fetch(srv.url + path, { headers });
}

async function upload(name, seconds, freq) {
  const file = join(srv.dataDir, name);
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=f=${freq}:d=${seconds}:r=48000`,
    '-ac', '2', '-c:a', 'flac', file]);
  const r = await fetch(srv.url + `/api/v1/tracks?name=${name}`, {
    method: 'POST', body: readFileSync(file), headers: { 'content-type': 'audio/flac', ...bearer(admin) } });
  assert.equal(r.status, 201, await r.clone().text());
  return (await r.json()).id;
}

function probe(bytes, ext) {
  const file = join(srv.dataDir, `probe.${ext}`);
  writeFileSync(file, bytes);
  const p = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file],
    { encoding: 'utf8' }));
  // Decode the whole stream: the decoded length, not the header's estimate.
  const out = execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-', '-progress', 'pipe:1'],
    { encoding: 'utf8' });
  const times = [...out.matchAll(/out_time_us=(\d+)/g)].map((m) => Number(m[1]));
  return { stream: p.streams[0], format: p.format, seconds: times[times.length - 1] / 1e6 };
}

before(async () => {
  srv = await startServer({ env: { TONEARM_WORKERS: '0' } });
  admin = (await login(srv.url, 'admin', ADMIN_PASSWORD)).access_token;
  const r = await fetch(srv.url + '/api/v1/admin/users', {
    method: 'POST', headers: { 'content-type': 'application/json', ...bearer(admin) },
    body: JSON.stringify({ username: 'listener', role: 'free' }) });
  assert.equal(r.status, 201);
  free = (await login(srv.url, 'listener', (await r.json()).password)).access_token;
  track = await upload('tone.flac', SECONDS, 440);
});

after(async () => {
  if (srv) {
    const r = await srv.stop();
    assert.equal(r.code, 0, srv.output().slice(-2000));
  }
});

test('a track without a ladder plays at once: /stream answers with AAC made on the fly', async () => {
  const st = await (await get(`/api/v1/tracks/${track}/status`, bearer(admin))).json();
  assert.notEqual(st.state, 'ready', 'no workers: the ladder is never made');
  const r = await get(`/api/v1/tracks/${track}/stream`, bearer(free));
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(r.headers.get('content-type'), 'audio/aac');
  assert.equal(r.headers.get('x-transcode'), 'live');
  const p = probe(Buffer.from(await r.arrayBuffer()), 'aac');
  assert.equal(p.stream.codec_name, 'aac');
  assert.ok(Math.abs(p.seconds - SECONDS) < 0.1, `decoded ${p.seconds} s`);
});

for (const [format, ext, codec, type, rate] of [
  ['mp3', 'mp3', 'mp3', 'audio/mpeg', 48000],
  ['opus', 'opus', 'opus', 'audio/ogg', 48000],
  ['aac', 'aac', 'aac', 'audio/aac', 48000],
]) {
  test(`format=${format}: streamed live, decodes whole; the second request is the cached copy with Range`, async () => {
    const path = `/api/v1/tracks/${track}/stream?format=${format}&maxBitRate=100`;
    const r = await get(path, bearer(admin));
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(r.headers.get('content-type'), type);
    assert.equal(r.headers.get('x-transcode'), 'live');
    assert.equal(r.headers.get('content-length'), null, 'a live transcode has no length yet');
    const live = Buffer.from(await r.arrayBuffer());
    const p = probe(live, ext);
    assert.equal(p.stream.codec_name, codec);
    assert.equal(Number(p.stream.sample_rate), rate);
    assert.equal(p.stream.channels, 2);
    assert.ok(Math.abs(p.seconds - SECONDS) < 0.1, `decoded ${p.seconds} s`);
    // maxBitRate=100 picks the 96 kb/s step: the size says so (within the container's overhead).
    const kbps = (live.length * 8) / SECONDS / 1000;
    assert.ok(kbps > 80 && kbps < 115, `${kbps.toFixed(1)} kb/s`);

    const again = await get(path, bearer(admin));
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-transcode'), 'cached');
    assert.equal(Number(again.headers.get('content-length')), live.length);
    assert.deepEqual(Buffer.from(await again.arrayBuffer()), live);
    const etag = again.headers.get('etag');
    assert.ok(etag);
    const part = await get(path, bearer(admin, { range: 'bytes=100-4195' }));
    assert.equal(part.status, 206);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), live.subarray(100, 4196));
    assert.equal((await get(path, bearer(admin, { 'if-none-match': etag }))).status, 304);
  });
}

test('a free account gets at most 128 kb/s whatever it asks; premium gets what it asks', async () => {
  const size = async (token, kbps) => {
    const r = await get(`/api/v1/tracks/${track}/stream?format=mp3&maxBitRate=${kbps}`, bearer(token));
    assert.equal(r.status, 200);
    return ((await r.arrayBuffer()).byteLength * 8) / SECONDS / 1000;
  };
  const freeKbps = await size(free, 320);
  assert.ok(freeKbps > 120 && freeKbps < 135, `free asked 320, got ${freeKbps.toFixed(1)} kb/s`);
  const premiumKbps = await size(admin, 320);
  assert.ok(premiumKbps > 310 && premiumKbps < 330, `premium asked 320, got ${premiumKbps.toFixed(1)} kb/s`);
});

test('bad requests are problems: format, maxBitRate, both rendition and format, unknown track, no token', async () => {
  const base = `/api/v1/tracks/${track}/stream`;
  let p = await expectProblem(assert, await get(`${base}?format=wav`, bearer(admin)), 400);
  assert.match(p.detail, /mp3, opus or aac/);
  p = await expectProblem(assert, await get(`${base}?format=mp3&maxBitRate=-1`, bearer(admin)), 400);
  assert.match(p.detail, /maxBitRate/);
  await expectProblem(assert, await get(`${base}?format=mp3&maxBitRate=12abc`, bearer(admin)), 400);
  await expectProblem(assert, await get(`${base}?format=mp3&rendition=aac_128`, bearer(admin)), 400);
  await expectProblem(assert, await get(`/api/v1/tracks/01ZZZZZZZZZZZZZZZZZZZZZZZZ/stream?format=mp3`, bearer(admin)), 404);
  await expectProblem(assert, await get(`${base}?format=mp3`), 401);
});

test('a client that leaves mid-stream leaves no cached copy behind; the server keeps serving', async () => {
  const path = `/api/v1/tracks/${track}/stream?format=opus&maxBitRate=32`;
  const ac = new AbortController();
  const r = await fetch(srv.url + path, { headers: bearer(admin), signal: ac.signal });
  assert.equal(r.status, 200);
  const reader = r.body.getReader();
  await reader.read();
  ac.abort();
  await reader.read().catch(() => {});
  // The next request is made live again (nothing half-written was kept), and it is whole.
  const again = await get(path, bearer(admin));
  assert.equal(again.headers.get('x-transcode'), 'live');
  const p = probe(Buffer.from(await again.arrayBuffer()), 'opus');
  assert.ok(Math.abs(p.seconds - SECONDS) < 0.1, `decoded ${p.seconds} s`);
  assert.equal((await get('/healthz')).status, 200);
});

test('a source damaged after ingest cuts the stream instead of caching a short copy',
  { skip: (process.env.TA_E2E_STORE || 'file') !== 'file' && 'needs the file store to damage the object' }, async () => {
    damaged = await upload('damaged.flac', 20, 550);
    const t = await (await get(`/api/v1/tracks/${damaged}`, bearer(admin))).json();
    const dir = join(srv.dataDir, 'objects', 'orig');
    const name = readdirSync(dir).find((f) => t.sha256 && f.startsWith(t.sha256));
    assert.ok(name, `the original of ${damaged} is in ${dir}`);
    const file = join(dir, name);
    truncateSync(file, Math.floor(statSync(file).size / 2));

    const path = `/api/v1/tracks/${damaged}/stream?format=mp3`;
    const r = await get(path, bearer(admin));
    assert.equal(r.status, 200, 'the status left before the damage was found');
    await assert.rejects(r.arrayBuffer(), 'the body is cut, not ended cleanly');
    const again = await get(path, bearer(admin));
    assert.equal(again.headers.get('x-transcode'), 'live', 'nothing was cached');
    await again.arrayBuffer().catch(() => {});
    assert.equal((await get('/healthz')).status, 200);
    const lines = logLines(srv.output()).filter((l) => l.msg === 'live transcode failed');
    assert.ok(lines.some((l) => /truncated or corrupt at/.test(l.error)), JSON.stringify(lines));
  });
