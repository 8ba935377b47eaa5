// tus 1.0 uploads end to end with the real tus-js-client (chunks, a resume after an abort, the
// track found afterwards, the same bytes found again), the protocol's refusals over raw fetch,
// and cover art served resized with strong ETags.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as tus from 'tus-js-client';
import { startServer, expectProblem } from './lib/server.mjs';
import { ADMIN_PASSWORD, adminEnv, login, bearer } from './lib/auth.mjs';

const CHUNK = 64 * 1024;
let srv, short, small, token, shortToken, smallToken, work, audio, cover;

const b64 = (s) => Buffer.from(s).toString('base64');
const sha256 = (b) => createHash('sha256').update(b).digest();

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tonearm-uploads-'));
  cover = join(work, 'cover.png');
  audio = join(work, 'song.mp3');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=1400x1000', '-frames:v', '1', cover]);
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=20', '-i', cover,
    '-map', '0', '-map', '1', '-c:a', 'libmp3lame', '-b:a', '192k', '-c:v', 'png', '-disposition:v', 'attached_pic',
    '-id3v2_version', '3', '-metadata', 'title=Upload Test', '-metadata', 'artist=The Uploaders',
    '-metadata', 'album=Resumable', audio]);
  srv = await startServer({ env: adminEnv });
  token = (await login(srv.url, 'admin', ADMIN_PASSWORD)).access_token;
  // A second server with a short expiry, and a third with a small request body limit (apart, so
  // that a slow machine cannot expire the upload the body-limit test is making).
  short = await startServer({ env: { ...adminEnv, TONEARM_UPLOAD_EXPIRY: '2s' } });
  shortToken = (await login(short.url, 'admin', ADMIN_PASSWORD)).access_token;
  small = await startServer({ env: { ...adminEnv, TONEARM_MAX_BODY: '64KiB' } });
  smallToken = (await login(small.url, 'admin', ADMIN_PASSWORD)).access_token;
});

after(async () => {
  for (const s of [srv, short, small]) if (s) assert.equal((await s.stop()).code, 0, s.output().slice(-2000));
  rmSync(work, { recursive: true, force: true });
});

const tusHeaders = (tok = token, extra = {}) => bearer(tok, { 'tus-resumable': '1.0.0', ...extra });

async function create(length, { tok = token, url = srv.url, metadata = 'filename ' + b64('a.mp3') } = {}) {
  const r = await fetch(url + '/api/v1/uploads', {
    method: 'POST', headers: tusHeaders(tok, { 'upload-length': String(length), 'upload-metadata': metadata }),
  });
  assert.equal(r.status, 201, await r.text());
  assert.equal(r.headers.get('tus-resumable'), '1.0.0');
  assert.match(r.headers.get('location'), /^\/api\/v1\/uploads\/[0-9A-Z]{26}$/);
  assert.ok(Date.parse(r.headers.get('upload-expires')) > Date.now());
  return (url) + r.headers.get('location');
}

function patch(loc, offset, body, { tok = token, type = 'application/offset+octet-stream', extra = {} } = {}) {
  return fetch(loc, { method: 'PATCH', headers: tusHeaders(tok, { 'content-type': type, 'upload-offset': String(offset), ...extra }), body });
}

const head = (loc, tok = token) => fetch(loc, { method: 'HEAD', headers: tusHeaders(tok) });

// Run one tus-js-client upload to its end (or to an abort by `stopAfter` chunks); records the
// PATCH offsets it sent.
function tusUpload(data, { uploadUrl = null, stopAfter = Infinity, chunkSize = CHUNK, url = srv.url, tok = token } = {}) {
  const patches = [];
  let chunks = 0;
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(data, {
      endpoint: url + '/api/v1/uploads',
      uploadUrl,
      chunkSize,
      retryDelays: [],
      headers: { authorization: `Bearer ${tok}` },
      metadata: { filename: 'song.mp3', filetype: 'audio/mpeg' },
      onBeforeRequest(req) {
        if (req.getMethod() === 'PATCH') patches.push(Number(req.getHeader('Upload-Offset')));
      },
      onChunkComplete() {
        if (++chunks >= stopAfter) {
          up.abort().then(() => resolve({ aborted: true, url: up.url, patches }));
        }
      },
      onSuccess() { resolve({ aborted: false, url: up.url, patches }); },
      onError(err) { reject(Object.assign(err, { patches })); },
    });
    up.start();
  });
}

test('OPTIONS tells what the server supports, without signing in', async () => {
  const r = await fetch(srv.url + '/api/v1/uploads', { method: 'OPTIONS' });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('tus-resumable'), '1.0.0');
  assert.equal(r.headers.get('tus-version'), '1.0.0');
  assert.equal(r.headers.get('tus-extension'), 'creation,termination,checksum,expiration');
  assert.equal(r.headers.get('tus-checksum-algorithm'), 'sha256');
  assert.equal(r.headers.get('tus-max-size'), String(2 * 1024 ** 3));
});

test('tus-js-client uploads in chunks, resumes after an abort, and the track exists', async (t) => {
  const data = readFileSync(audio);
  assert.ok(data.length > 4 * CHUNK, 'the fixture spans several chunks');
  const first = await tusUpload(data, { stopAfter: 2 });
  assert.equal(first.aborted, true);
  assert.deepEqual(first.patches, [0, CHUNK]);
  const h = await head(first.url);
  assert.equal(h.status, 200);
  assert.equal(h.headers.get('upload-offset'), String(2 * CHUNK));
  assert.equal(h.headers.get('upload-length'), String(data.length));
  assert.equal(h.headers.get('cache-control'), 'no-store');

  // A new client resumes where the server says: no byte is sent twice.
  const second = await tusUpload(data, { uploadUrl: first.url });
  assert.equal(second.aborted, false);
  assert.equal(second.url, first.url);
  assert.equal(second.patches[0], 2 * CHUNK);
  const expected = [];
  for (let o = 2 * CHUNK; o < data.length; o += CHUNK) expected.push(o);
  assert.deepEqual(second.patches, expected);

  const st = await (await fetch(first.url, { headers: bearer(token) })).json();
  assert.equal(st.state, 'complete', JSON.stringify(st));
  assert.equal(st.offset, data.length);
  assert.equal(st.filename, 'song.mp3');
  assert.equal(st.duplicate, false);
  assert.match(st.track_id, /^[0-7][0-9A-Z]{25}$/);
  const track = await (await fetch(srv.url + '/api/v1/tracks/' + st.track_id, { headers: bearer(token) })).json();
  assert.equal(track.title, 'Upload Test');
  assert.equal(track.sha256, sha256(data).toString('hex'));

  // The same bytes again: found, not stored twice.
  const again = await tusUpload(data, { chunkSize: 4 * CHUNK });
  const st2 = await (await fetch(again.url, { headers: bearer(token) })).json();
  assert.equal(st2.state, 'complete');
  assert.equal(st2.duplicate, true);
  assert.equal(st2.track_id, st.track_id);
  globalThis.uploadedTrack = track;
  t.diagnostic(`cover_hash from ingest: ${track.cover_hash}`);
});

test('a file that is not audio is refused with a reason', async () => {
  const loc = await create(1000, { metadata: 'filename ' + b64('noise.mp3') });
  const r = await patch(loc, 0, Buffer.alloc(1000, 7));
  assert.equal(r.status, 204);
  const st = await (await fetch(loc, { headers: bearer(token) })).json();
  assert.equal(st.state, 'refused');
  assert.equal(typeof st.reason, 'string');
  assert.ok(st.reason.length > 0);
  assert.equal(st.track_id, null);
});

test('protocol refusals: 412, 413, 400 on metadata, 415, 409, 460, past the length, DELETE', async () => {
  let r = await fetch(srv.url + '/api/v1/uploads', { method: 'POST', headers: bearer(token, { 'upload-length': '10' }) });
  await expectProblem(assert, r, 412);
  assert.equal(r.headers.get('tus-version'), '1.0.0');
  assert.equal(r.headers.get('tus-resumable'), '1.0.0');
  r = await fetch(srv.url + '/api/v1/uploads', { method: 'POST', headers: tusHeaders(token, { 'tus-resumable': '0.2.2', 'upload-length': '10' }) });
  await expectProblem(assert, r, 412);
  r = await fetch(srv.url + '/api/v1/uploads', { method: 'POST', headers: tusHeaders(token, { 'upload-length': String(3 * 1024 ** 3) }) });
  await expectProblem(assert, r, 413);
  r = await fetch(srv.url + '/api/v1/uploads', { method: 'POST', headers: tusHeaders(token) });
  await expectProblem(assert, r, 400);
  for (const name of ['../../etc/passwd', 'a\0b.mp3', 'dir/x.mp3', 'x\\y.mp3', '..', 'x'.repeat(256)]) {
    r = await fetch(srv.url + '/api/v1/uploads', {
      method: 'POST', headers: tusHeaders(token, { 'upload-length': '10', 'upload-metadata': 'filename ' + b64(name) }),
    });
    await expectProblem(assert, r, 400);
  }
  r = await fetch(srv.url + '/api/v1/uploads', {
    method: 'POST', headers: tusHeaders(token, { 'upload-length': '10', 'upload-metadata': 'filename !!notbase64' }),
  });
  await expectProblem(assert, r, 400);

  const loc = await create(10);
  await expectProblem(assert, await patch(loc, 0, 'abcd', { type: 'application/octet-stream' }), 415);
  r = await patch(loc, 5, 'abcd');
  await expectProblem(assert, r, 409);
  assert.equal(r.headers.get('tus-resumable'), '1.0.0');
  const wrong = 'sha256 ' + sha256('something else').toString('base64');
  await expectProblem(assert, await patch(loc, 0, 'abcd', { extra: { 'upload-checksum': wrong } }), 460);
  await expectProblem(assert, await patch(loc, 0, 'abcd', { extra: { 'upload-checksum': 'md5 ' + b64('x') } }), 400);
  assert.equal((await head(loc)).headers.get('upload-offset'), '0', 'the bad chunk was discarded');
  r = await patch(loc, 0, 'abcd', { extra: { 'upload-checksum': 'sha256 ' + sha256('abcd').toString('base64') } });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('upload-offset'), '4');
  assert.equal(r.headers.get('tus-resumable'), '1.0.0');
  await expectProblem(assert, await patch(loc, 4, 'efghijk'), 413);
  await expectProblem(assert, await fetch(loc, { method: 'PATCH', headers: bearer(token, { 'content-type': 'application/offset+octet-stream', 'upload-offset': '4' }), body: 'x' }), 412);
  assert.equal((await head(loc)).headers.get('upload-offset'), '4');

  r = await fetch(loc, { method: 'DELETE', headers: tusHeaders() });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('tus-resumable'), '1.0.0');
  assert.equal((await head(loc)).status, 404);
  await expectProblem(assert, await patch(loc, 4, 'ef'), 404);
  await expectProblem(assert, await fetch(srv.url + '/api/v1/uploads/nonsense', { headers: bearer(token) }), 404);
});

test('uploads need a signed-in account and belong to it', async () => {
  const loc = await create(10);
  assert.equal((await fetch(loc, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })).status, 401);
  const r = await fetch(srv.url + '/api/v1/admin/users', {
    method: 'POST', headers: bearer(token, { 'content-type': 'application/json' }),
    body: JSON.stringify({ username: 'uploader', role: 'artist', password: 'uploader password 0123' }),
  });
  assert.equal(r.status, 201, await r.text());
  const other = (await login(srv.url, 'uploader', 'uploader password 0123')).access_token;
  assert.equal((await head(loc, other)).status, 404);
  await expectProblem(assert, await patch(loc, 0, 'abcd', { tok: other }), 404);
  assert.equal((await head(loc)).status, 200);
});

test('an upload not finished in time is gone (410)', async () => {
  const loc = await create(10, { url: short.url, tok: shortToken });
  assert.equal((await patch(loc, 0, 'abcd', { tok: shortToken })).status, 204);
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal((await head(loc, shortToken)).status, 410);
  await expectProblem(assert, await patch(loc, 4, 'efgh', { tok: shortToken }), 410);
  await expectProblem(assert, await fetch(loc, { headers: bearer(shortToken) }), 410);
});

test('a chunk larger than max_body is refused with 413; smaller chunks go through', async () => {
  const data = readFileSync(audio).subarray(0, 200 * 1024);
  let failed;
  await assert.rejects(tusUpload(data, { url: small.url, tok: smallToken, chunkSize: 128 * 1024 }), (err) => {
    // The server answers 413 as soon as it sees the Content-Length and closes the connection;
    // a client still writing the body may see the reset before it reads the answer.
    assert.match(String(err), /response code: 413|EPIPE|ECONNRESET/);
    failed = err;
    return true;
  });
  const loc = /url: (\S+),/.exec(String(failed))[1];
  assert.equal((await head(loc, smallToken)).headers.get('upload-offset'), '0', 'nothing of the big chunk was kept');
  const ok = await tusUpload(data, { url: small.url, tok: smallToken, chunkSize: 32 * 1024 });
  assert.equal(ok.aborted, false);
  const h = await head(ok.url, smallToken);
  // The upload's bytes all arrived (a truncated MP3: ingest decides what it is).
  assert.equal(h.status, 200);
});

// The width and height in a baseline or progressive JPEG's SOF marker.
function jpegSize(buf) {
  let i = 2;
  while (i < buf.length) {
    if (buf[i] !== 0xff) throw new Error('not a JPEG marker');
    const m = buf[i + 1];
    const len = buf.readUInt16BE(i + 2);
    if (m >= 0xc0 && m <= 0xc3) return { h: buf.readUInt16BE(i + 5), w: buf.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  throw new Error('no SOF');
}

test('cover art: the original, resized JPEGs, strong ETags, 304, ranges, bad sizes and hashes', async () => {
  const png = readFileSync(cover);
  let hash = globalThis.uploadedTrack?.cover_hash;
  if (!hash) {
    // Ingest did not keep the embedded picture: put it where ingest would.
    hash = sha256(png).toString('hex');
    mkdirSync(join(srv.dataDir, 'objects', 'art', hash), { recursive: true });
    writeFileSync(join(srv.dataDir, 'objects', 'art', hash, 'orig'), png);
  }
  const art = (q = '', h = {}) => fetch(`${srv.url}/api/v1/art/${hash}${q}`, { headers: bearer(token, h) });

  let r = await art();
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'image/png');
  assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(r.headers.get('etag'), /^"[^"]+"$/);
  const orig = Buffer.from(await r.arrayBuffer());
  assert.equal(orig.subarray(1, 4).toString(), 'PNG');

  for (const size of [64, 300, 600, 1200]) {
    r = await art(`?size=${size}`);
    assert.equal(r.status, 200, `size ${size}`);
    assert.equal(r.headers.get('content-type'), 'image/jpeg');
    assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const etag = r.headers.get('etag');
    assert.match(etag, /^"[^"]+"$/, 'a strong ETag');
    const img = Buffer.from(await r.arrayBuffer());
    const { w, h } = jpegSize(img);
    assert.equal(w, size);
    assert.equal(h, Math.round((1000 * size) / 1400));
    // Kept: the same object (same ETag) next time, and 304 for a client that has it.
    r = await art(`?size=${size}`);
    assert.equal(r.headers.get('etag'), etag);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), img);
    r = await art(`?size=${size}`, { 'if-none-match': etag });
    assert.equal(r.status, 304);
    r = await art(`?size=${size}`, { range: 'bytes=0-9' });
    assert.equal(r.status, 206);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), img.subarray(0, 10));
  }
  const len = async (q) => Number((await art(q)).headers.get('content-length'));
  assert.ok((await len('?size=64')) < (await len('?size=1200')), 'smaller boxes make smaller files');

  for (const q of ['?size=100', '?size=', '?size=64px', '?size=-64']) await expectProblem(assert, await art(q), 400);
  await expectProblem(assert, await fetch(`${srv.url}/api/v1/art/abc`, { headers: bearer(token) }), 400);
  await expectProblem(assert, await fetch(`${srv.url}/api/v1/art/${'g'.repeat(64)}`, { headers: bearer(token) }), 400);
  await expectProblem(assert, await fetch(`${srv.url}/api/v1/art/${'0'.repeat(64)}`, { headers: bearer(token) }), 404);
  await expectProblem(assert, await fetch(`${srv.url}/api/v1/art/${'0'.repeat(64)}?size=300`, { headers: bearer(token) }), 404);
  assert.equal((await fetch(`${srv.url}/api/v1/art/${hash}`)).status, 401);
});
