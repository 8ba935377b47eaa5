// The on-the-fly copies stay within `live_cache_max`: past it the oldest copy is deleted (and
// made again by the next request that wants it), the newest is kept; with 0 no copy is kept and
// every request transcodes live. Trimming lists every live/ copy of the store, and the e2e S3
// servers share one bucket, so that part runs on the file store only.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, logLines } from './lib/server.mjs';
import { ADMIN_PASSWORD, login, bearer } from './lib/auth.mjs';

const servers = [];

after(async () => {
  for (const s of servers) {
    const r = await s.stop();
    assert.equal(r.code, 0, s.output().slice(-2000));
  }
});

async function serverWithTrack(limit) {
  const srv = await startServer({ env: { TONEARM_WORKERS: '0', TONEARM_LIVE_CACHE_MAX: limit } });
  servers.push(srv);
  const admin = (await login(srv.url, 'admin', ADMIN_PASSWORD)).access_token;
  const file = join(srv.dataDir, 'tone.flac');
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=f=330:d=12:r=44100',
    '-ac', '2', '-c:a', 'flac', file]);
  const r = await fetch(srv.url + '/api/v1/tracks?name=tone.flac', {
    method: 'POST', body: readFileSync(file), headers: { 'content-type': 'audio/flac', ...bearer(admin) } });
  assert.equal(r.status, 201, await r.clone().text());
  const track = (await r.json()).id;
  // The whole body, and how it was made: "live" or "cached".
  const fetchAll = async (q) => {
    const res = await fetch(`${srv.url}/api/v1/tracks/${track}/stream?${q}`, { headers: bearer(admin) });
    assert.equal(res.status, 200);
    const n = (await res.arrayBuffer()).byteLength;
    assert.ok(n > 10000, `${n} bytes`);
    return res.headers.get('x-transcode');
  };
  return { srv, fetchAll };
}

test('past the limit the oldest copy goes and the newest stays',
  { skip: (process.env.TA_E2E_STORE || 'file') !== 'file' && 'S3 e2e servers share a bucket' }, async () => {
    // 12 s of MP3 at 96 kb/s is ≈ 144 KB, of Opus at 32 kb/s ≈ 48 KB: one fits, both do not.
    const { srv, fetchAll } = await serverWithTrack('150KiB');
    assert.equal(await fetchAll('format=mp3&maxBitRate=100'), 'live');
    assert.equal(await fetchAll('format=mp3&maxBitRate=100'), 'cached');
    assert.equal(await fetchAll('format=opus&maxBitRate=32'), 'live');
    // The trim runs once the copy is committed, just after the last byte went out.
    let line;
    for (let i = 0; i < 50 && !line; i++) {
      line = logLines(srv.output()).find((l) => l.msg === 'live transcode: deleted the oldest cached copies');
      if (!line) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(line, srv.output().slice(-2000));
    assert.equal(line.deleted, 1);
    assert.equal(line.copies, 1);
    assert.ok(line.bytes <= 150 * 1024 * 0.9, JSON.stringify(line));
    assert.equal(await fetchAll('format=opus&maxBitRate=32'), 'cached');
    assert.equal(await fetchAll('format=mp3&maxBitRate=100'), 'live');
  });

test('a limit of 0 keeps no copy: every request is transcoded live', async () => {
  const { fetchAll } = await serverWithTrack('0');
  assert.equal(await fetchAll('format=opus&maxBitRate=32'), 'live');
  assert.equal(await fetchAll('format=opus&maxBitRate=32'), 'live');
});
