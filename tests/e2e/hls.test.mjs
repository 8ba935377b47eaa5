// HLS end to end with real clients: upload a 30 s FLAC (440 Hz left, 660 Hz right), wait for the
// ladder, then m3u8-parser parses every playlist, ffmpeg decodes the signed URLs (duration within
// one AAC frame; FLAC bit-exact), hls.js in headless Chromium plays it (both tones heard through
// Web Audio analysers) and switches down when throttled, and hostile requests get problems.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Parser } from 'm3u8-parser';
import { startServer, expectProblem } from './lib/server.mjs';
import { ADMIN_PASSWORD, login, bearer } from './lib/auth.mjs';

const require = createRequire(import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SECONDS = 30;
const RATE = 44100;

let srv, admin, free, freeId, track, src;

function parse(text) {
  const p = new Parser();
  p.push(text);
  p.end();
  return p.manifest;
}

async function get(path, headers = {}) {
  return fetch(srv.url + path, { headers });
}

// The signed master URL for a token (GET /api/v1/tracks/{id}/hls).
async function masterUrl(token, query = '') {
  const r = await get(`/api/v1/tracks/${track}/hls${query}`, bearer(token));
  assert.equal(r.status, 200, await r.clone().text());
  const body = await r.json();
  assert.match(body.url, new RegExp(`^/hls/${track}/master\\.m3u8\\?a=\\w+&p=[0-9a-f]+&exp=\\d+&sig=[0-9a-f]{64}$`));
  return body.url;
}

// Fetch and parse a master playlist; returns { text, manifest, variants: { name: absolute URL } }.
async function master(path, headers = {}) {
  const r = await get(path, headers);
  assert.equal(r.status, 200, await r.clone().text());
  assert.match(r.headers.get('content-type'), /^application\/vnd\.apple\.mpegurl/);
  assert.match(r.headers.get('cache-control'), /no-store/);
  const text = await r.text();
  const manifest = parse(text);
  const base = new URL(srv.url + path);
  const variants = {};
  for (const pl of manifest.playlists) variants[pl.uri.split('/')[0]] = new URL(pl.uri, base).toString();
  return { text, manifest, variants };
}

// ffmpeg as an HLS client: decoded duration in seconds (from -progress, not the exit code).
function ffmpegDuration(url) {
  const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', url, '-map', '0:a:0', '-f', 'null', '-',
    '-progress', 'pipe:1'], { encoding: 'utf8', timeout: 30000 });
  const times = [...r.stdout.matchAll(/out_time_us=(\d+)/g)].map((m) => Number(m[1]));
  assert.ok(times.length, 'ffmpeg reported no progress: ' + r.stderr);
  return { seconds: times[times.length - 1] / 1e6, stderr: r.stderr };
}

function pcmMd5(input) {
  const out = execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', input, '-map', '0:a:0', '-c:a', 'pcm_s16le',
    '-f', 'md5', '-'], { encoding: 'utf8', timeout: 30000 });
  return out.trim();
}

before(async () => {
  srv = await startServer({ env: { TONEARM_WORKERS: '2' } });
  admin = (await login(srv.url, 'admin', ADMIN_PASSWORD)).access_token;
  let r = await fetch(srv.url + '/api/v1/admin/users', {
    method: 'POST', headers: { 'content-type': 'application/json', ...bearer(admin) },
    body: JSON.stringify({ username: 'listener', role: 'free' }) });
  assert.equal(r.status, 201);
  const created = await r.json();
  freeId = created.id;
  free = (await login(srv.url, 'listener', created.password)).access_token;

  src = join(srv.dataDir, 'tones.flac');
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=f=440:d=${SECONDS}:r=${RATE}`,
    '-f', 'lavfi', '-i', `sine=f=660:d=${SECONDS}:r=${RATE}`, '-filter_complex', '[0][1]amerge=inputs=2',
    '-c:a', 'flac', src]);
  r = await fetch(srv.url + '/api/v1/tracks?name=tones.flac', {
    method: 'POST', body: readFileSync(src), headers: { 'content-type': 'audio/flac', ...bearer(admin) } });
  assert.equal(r.status, 201, await r.clone().text());
  track = (await r.json()).id;

  // Before the ladder is ready the master playlist says so (unless the worker was very quick).
  const early = await get(`/hls/${track}/master.m3u8`, bearer(admin));
  assert.ok([200, 409].includes(early.status));
  if (early.status === 409) {
    const p = await expectProblem(assert, early, 409);
    assert.match(p.detail, /status/);
  }
  let st;
  const until = Date.now() + 45000;
  do {
    await sleep(200);
    st = await (await get(`/api/v1/tracks/${track}/status`, bearer(admin))).json();
  } while (st.state !== 'ready' && st.state !== 'failed' && Date.now() < until);
  assert.equal(st.state, 'ready', JSON.stringify(st));
});

after(async () => {
  if (srv) {
    const r = await srv.stop();
    assert.equal(r.code, 0, srv.output().slice(-2000));
  }
});

test('playlists: every one parses; premium gets the whole ladder, free up to 128k', async () => {
  const viaBearer = await master(`/hls/${track}/master.m3u8`, bearer(admin));
  assert.deepEqual(Object.keys(viaBearer.variants).sort(), ['aac_128', 'aac_256', 'aac_64', 'flac']);
  for (const pl of viaBearer.manifest.playlists) {
    assert.ok(pl.attributes.BANDWIDTH > 0);
    assert.ok(pl.attributes['AVERAGE-BANDWIDTH'] > 0 && pl.attributes['AVERAGE-BANDWIDTH'] <= pl.attributes.BANDWIDTH);
    assert.match(pl.attributes.CODECS, /^(mp4a\.40\.2|fLaC)$/);
  }
  const signed = await master(await masterUrl(admin));
  assert.deepEqual(Object.keys(signed.variants).sort(), ['aac_128', 'aac_256', 'aac_64', 'flac']);

  const freeMaster = await master(await masterUrl(free));
  assert.deepEqual(Object.keys(freeMaster.variants).sort(), ['aac_128', 'aac_64']);

  for (const [name, url] of Object.entries(signed.variants)) {
    const r = await fetch(url);
    assert.equal(r.status, 200, name);
    const text = await r.text();
    assert.match(text, /^#EXTM3U\n#EXT-X-VERSION:7\n/);
    assert.match(text, /#EXT-X-PLAYLIST-TYPE:VOD\n/);
    assert.match(text, /#EXT-X-INDEPENDENT-SEGMENTS\n/);
    assert.match(text, /#EXT-X-ENDLIST\n$/);
    assert.doesNotMatch(text, /BYTERANGE/);
    // The init section is named before the first key, so it stays clear.
    // Segment URLs: beside the playlist, or under r/ when the store is remote (served off the loop).
    const dir = /#EXT-X-MAP:URI="(r\/)?init\.mp4"/.exec(text)?.[1] || '';
    assert.equal(dir, process.env.TA_E2E_STORE?.startsWith('s3://') ? 'r/' : '');
    assert.ok(text.indexOf(`#EXT-X-MAP:URI="${dir}init.mp4"`) < text.indexOf('#EXT-X-KEY'));
    const m = parse(text);
    assert.equal(m.endList, true);
    assert.equal(m.mediaSequence, 0);
    assert.ok(m.segments.length >= 5, name);
    const total = m.segments.reduce((s, x) => s + x.duration, 0);
    assert.ok(Math.abs(total - SECONDS) < 0.1, `${name}: ${total}`);
    for (const [i, seg] of m.segments.entries()) {
      assert.equal(seg.uri, `${dir}${i}.m4s`);
      assert.ok(Math.round(seg.duration) <= m.targetDuration, `${seg.duration} > ${m.targetDuration}`);
      assert.equal(seg.key.method, 'AES-128');
      assert.equal(seg.key.iv[3], i);
      assert.match(seg.key.uri, /^\.\.\/key\?a=\w+&p=[0-9a-f]+&exp=\d+&sig=[0-9a-f]{64}$/);
    }
    // Segments: public, immutable, strong ETag, Range.
    const seg = await fetch(new URL(`${dir}1.m4s`, url));
    assert.equal(seg.status, 200);
    assert.equal(seg.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const etag = seg.headers.get('etag');
    assert.match(etag, /^"[^"]+-1"$/);
    const body = Buffer.from(await seg.arrayBuffer());
    assert.equal(body.length % 16, 0);
    const part = await fetch(new URL(`${dir}1.m4s`, url), { headers: { range: 'bytes=16-47' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 16-47/${body.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), body.subarray(16, 48));
    const again = await fetch(new URL(`${dir}1.m4s`, url), { headers: { 'if-none-match': etag } });
    // The other spelling serves the same bytes (directly, or by a redirect on a remote store).
    const other = await fetch(new URL(dir ? '1.m4s' : 'r/1.m4s', url));
    assert.equal(other.status, 200);
    assert.deepEqual(Buffer.from(await other.arrayBuffer()), body);
    assert.equal(again.status, 304);
    const init = await fetch(new URL(`${dir}init.mp4`, url));
    assert.equal(init.status, 200);
    const ib = Buffer.from(await init.arrayBuffer());
    assert.equal(ib.subarray(4, 8).toString('latin1'), 'ftyp');
    // The key: 16 bytes, never cached.
    const key = await fetch(new URL(m.segments[0].key.uri, url));
    assert.equal(key.status, 200);
    assert.equal(key.headers.get('cache-control'), 'no-store');
    assert.equal((await key.arrayBuffer()).byteLength, 16);
  }
});

test('ffmpeg as a client: whole track decoded; FLAC bit-exact', async () => {
  const url = srv.url + (await masterUrl(admin));
  const { seconds } = ffmpegDuration(url);
  assert.ok(Math.abs(seconds - SECONDS) <= 1024 / RATE + 1e-3, `decoded ${seconds} s of ${SECONDS}`);
  const { variants } = await master(await masterUrl(admin));
  for (const name of ['aac_64', 'aac_128', 'aac_256']) {
    const d = ffmpegDuration(variants[name]).seconds;
    assert.ok(Math.abs(d - SECONDS) <= 1024 / RATE + 1e-3, `${name}: decoded ${d} s`);
  }
  assert.equal(pcmMd5(variants.flac), pcmMd5(src));
});

test('attacks: tampered, expired, other account, forbidden rendition, bad ranges', async () => {
  const signedPath = await masterUrl(admin);
  const tampered = signedPath.replace(/sig=([0-9a-f])/, (m, c) => 'sig=' + (c === '0' ? '1' : '0'));
  await expectProblem(assert, await get(tampered), 403);
  // Editing the permissions (a free account making itself premium) breaks the signature.
  const freePath = await masterUrl(free);
  await expectProblem(assert, await get(freePath.replace(/&p=[0-9a-f]+/, '&p=3ff')), 403);
  await expectProblem(assert, await get(`/hls/${track}/master.m3u8`), 401);
  await expectProblem(assert, await get(`/hls/${track}/master.m3u8?a=x&p=4&exp=1&sig=00`), 403);

  // Expired: a one-second URL, two seconds later.
  const short = await masterUrl(admin, '?ttl=1');
  await sleep(2100);
  const expired = await expectProblem(assert, await get(short), 401);
  assert.match(expired.detail, /expired/);

  const { variants } = await master(signedPath);
  const media = await (await fetch(variants.aac_64)).text();
  const keyUri = parse(media).segments[0].key.uri;
  const keyUrl = new URL(keyUri, variants.aac_64);
  // The key needs a signature; a bearer alone will not do.
  await expectProblem(assert, await get(`/hls/${track}/key`, bearer(admin)), 401);
  // Another account's key URL: with my token it is refused; re-addressed to me it does not verify.
  await expectProblem(assert, await fetch(keyUrl, { headers: bearer(free) }), 403);
  const stolen = new URL(keyUrl);
  stolen.searchParams.set('a', freeId);
  await expectProblem(assert, await fetch(stolen), 403);
  // Another track's path with this track's signature.
  await expectProblem(assert, await get(`/hls/01ARZ3NDEKTSV4RRFFQ69G5FAV/key${keyUrl.search}`), 403);
  // A media playlist's signature does not open the key.
  await expectProblem(assert, await get(`/hls/${track}/key?${variants.aac_64.split('?')[1]}`), 403);

  // A free account asking for FLAC or 256k with its own (valid) signature.
  const fm = await master(freePath);
  assert.equal(fm.variants.flac, undefined);
  const freeMediaQuery = fm.variants.aac_64.split('?')[1];
  await expectProblem(assert, await get(`/hls/${track}/flac/index.m3u8?${freeMediaQuery}`), 403);
  await expectProblem(assert, await get(`/hls/${track}/aac_256/index.m3u8?${freeMediaQuery}`), 403);
  assert.equal((await get(`/hls/${track}/aac_64/index.m3u8`, bearer(free))).status, 200);
  await expectProblem(assert, await get(`/hls/${track}/flac/index.m3u8`, bearer(free)), 403);
  await expectProblem(assert, await get(`/hls/${track}/nope/index.m3u8?${freeMediaQuery}`), 404);

  // Segments: out of range, malformed names, bad ranges.
  const seg = `/hls/${track}/aac_64`;
  await expectProblem(assert, await get(`${seg}/9999.m4s`), 404);
  await expectProblem(assert, await get(`${seg}/-1.m4s`), 404);
  await expectProblem(assert, await get(`${seg}/01.m4s`), 404);
  await expectProblem(assert, await get(`${seg}/1.ts`), 404);
  await expectProblem(assert, await get(`/hls/${track}/nope/1.m4s`), 404);
  // A track whose index is not cached: the event loop does not read the database, it sends the
  // client to the URL served from the pool (which then says 404).
  const miss = await fetch(srv.url + '/hls/01ARZ3NDEKTSV4RRFFQ69G5FAV/aac_64/1.m4s', { redirect: 'manual' });
  assert.equal(miss.status, 307);
  assert.equal(miss.headers.get('location'), '/hls/01ARZ3NDEKTSV4RRFFQ69G5FAV/aac_64/r/1.m4s');
  await expectProblem(assert, await get(`/hls/01ARZ3NDEKTSV4RRFFQ69G5FAV/aac_64/1.m4s`), 404);
  await expectProblem(assert, await get(`/hls/${track}/aac%0d%0aX:1/1.m4s`), 404);
  await expectProblem(assert, await get(`${seg}/1.m4s`, { range: 'bytes=99999999-' }), 416);
  // A malformed Range is ignored (RFC 9110 §14.2): the whole segment, 200.
  const whole = await get(`${seg}/1.m4s`, { range: 'bytes=zz-1' });
  assert.equal(whole.status, 200);
  assert.ok((await whole.arrayBuffer()).byteLength > 0);
  // Still serving.
  assert.equal((await get(`${seg}/0.m4s`)).status, 200);
  assert.equal((await get('/healthz')).status, 200);
});

test('progressive stream: a plain fMP4 with Range; download of the original', async () => {
  const path = `/api/v1/tracks/${track}/stream`;
  // Premium gets the FLAC rung on request; decoded, it is the source's PCM.
  let r = await get(`${path}?rendition=flac`, bearer(admin));
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(r.headers.get('content-type'), 'audio/mp4');
  const flac = Buffer.from(await r.arrayBuffer());
  assert.equal(Number(r.headers.get('content-length')), flac.length);
  const file = join(srv.dataDir, 'progressive.mp4');
  writeFileSync(file, flac);
  assert.equal(pcmMd5(file), pcmMd5(src));

  // Default: the best AAC the account may have (free: 128k).
  r = await get(path, bearer(free));
  assert.equal(r.status, 200);
  const aac = Buffer.from(await r.arrayBuffer());
  writeFileSync(file, aac);
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file],
    { encoding: 'utf8' }));
  assert.equal(probe.streams[0].codec_name, 'aac');
  assert.ok(Math.abs(Number(probe.format.duration) - SECONDS) < 0.1, probe.format.duration);
  assert.ok(Number(probe.format.bit_rate) < 160000, probe.format.bit_rate);

  // Ranges across segment boundaries equal the same bytes of the whole.
  const etag = r.headers.get('etag');
  assert.match(etag, /^".+-plain"$/);
  for (const [a, b] of [[0, 99], [1000, 250000], [aac.length - 10, aac.length - 1]]) {
    const part = await get(path, bearer(free, { range: `bytes=${a}-${b}` }));
    assert.equal(part.status, 206);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), aac.subarray(a, b + 1));
  }
  await expectProblem(assert, await get(path, bearer(free, { range: `bytes=${aac.length}-` })), 416);
  assert.equal((await get(path, bearer(free, { 'if-none-match': etag }))).status, 304);
  await expectProblem(assert, await get(`${path}?rendition=flac`, bearer(free)), 403);
  await expectProblem(assert, await get(`${path}?rendition=nope`, bearer(admin)), 404);
  await expectProblem(assert, await get(path), 401);

  // Clients that go away mid-body (progressive, segment) leave the server serving.
  for (const u of [`${path}?rendition=flac`, `/api/v1/tracks/${track}/download`]) {
    const ac = new AbortController();
    const res = await fetch(srv.url + u, { headers: bearer(admin), signal: ac.signal });
    const reader = res.body.getReader();
    await reader.read();
    ac.abort();
    await reader.read().catch(() => {});
  }
  assert.equal((await get(path, bearer(free, { range: 'bytes=0-15' }))).status, 206);

  // Download: the original bytes, for premium and admin only.
  const dl = `/api/v1/tracks/${track}/download`;
  await expectProblem(assert, await get(dl, bearer(free)), 403);
  r = await get(dl, bearer(admin));
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-disposition'), /^attachment; filename="[^"]+\.flac"; filename\*=UTF-8''\S+\.flac$/);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), readFileSync(src));
  r = await get(dl, bearer(admin, { range: 'bytes=4-7' }));
  assert.equal(r.status, 206);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), readFileSync(src).subarray(4, 8));
  await expectProblem(assert, await get(`/api/v1/tracks/01ARZ3NDEKTSV4RRFFQ69G5FAV/download`, bearer(admin)), 404);
});

// ---- hls.js in headless Chromium ----

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);

const PAGE = `<!doctype html><html><body><audio id="a"></audio>
<script src="/__e2e/hls.js"></script>
<script>
window.run = async (src, opts) => {
  const audio = document.getElementById('a');
  const hls = new Hls(Object.assign({ enableWorker: false }, opts.config || {}));
  const st = window.st = { fatal: null, switched: [], levels: 0 };
  hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) st.fatal = d.type + ':' + d.details; });
  hls.on(Hls.Events.LEVEL_SWITCHED, (e, d) => st.switched.push(d.level));
  hls.on(Hls.Events.MANIFEST_PARSED, (e, d) => { st.levels = d.levels.map((l) => l.bitrate); });
  const ctx = new AudioContext();
  const node = ctx.createMediaElementSource(audio);
  const split = ctx.createChannelSplitter(2);
  node.connect(split);
  const an = [0, 1].map((i) => { const a = ctx.createAnalyser(); a.fftSize = 8192; split.connect(a, i); return a; });
  node.connect(ctx.destination);
  window.peaks = () => an.map((a) => {
    const f = new Float32Array(a.frequencyBinCount);
    a.getFloatFrequencyData(f);
    let best = 0;
    for (let i = 1; i < f.length; i++) if (f[i] > f[best]) best = i;
    return { hz: best * ctx.sampleRate / a.fftSize, db: f[best] };
  });
  window.hls = hls;
  hls.loadSource(src);
  hls.attachMedia(audio);
  if (opts.startLevel !== undefined) hls.startLevel = opts.startLevel;
  await ctx.resume();
  await audio.play();
};
</script></body></html>`;

async function openPage() {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: false, args: ['--headless=new',
    '--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const page = await browser.newPage();
  const hlsJs = readFileSync(require.resolve('hls.js/dist/hls.js'));
  await page.route(srv.url + '/__e2e/**', (route) => {
    const u = new URL(route.request().url());
    if (u.pathname === '/__e2e/hls.js') return route.fulfill({ body: hlsJs, contentType: 'text/javascript' });
    return route.fulfill({ body: PAGE, contentType: 'text/html' });
  });
  await page.goto(srv.url + '/__e2e/player.html');
  return { browser, page };
}

test('hls.js in Chromium plays the master playlist: 440 Hz left, 660 Hz right', { skip: !haveChromium && 'no chromium' }, async () => {
  const { browser, page } = await openPage();
  try {
    await page.evaluate(([src]) => window.run(src, {}), [await masterUrl(admin)]);
    const t0 = await page.evaluate(() => document.getElementById('a').currentTime);
    let heard = null;
    const until = Date.now() + 10000;
    while (Date.now() < until) {
      await sleep(300);
      const st = await page.evaluate(() => window.st);
      assert.equal(st.fatal, null);
      const p = await page.evaluate(() => window.peaks());
      if (p[0].db > -60 && p[1].db > -60 && Math.abs(p[0].hz - 440) < 10 && Math.abs(p[1].hz - 660) < 10) { heard = p; break; }
    }
    assert.ok(heard, 'tones not detected: ' + JSON.stringify(await page.evaluate(() => window.peaks())));
    const t1 = await page.evaluate(() => document.getElementById('a').currentTime);
    assert.ok(t1 > t0, `time did not advance: ${t0} → ${t1}`);
    assert.equal((await page.evaluate(() => window.st.levels)).length, 4);
  } finally {
    await browser.close();
  }
});

test('hls.js switches to a lower rendition when the network is throttled', { skip: !haveChromium && 'no chromium' }, async () => {
  const { browser, page } = await openPage();
  try {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const src = await masterUrl(admin);
    // AAC only (the ABR ladder), starting at the top, with a small buffer so throttling bites.
    await page.evaluate(([s]) => window.run(s, { startLevel: 2, config: { maxBufferLength: 10, maxMaxBufferLength: 10,
      capLevelToPlayerSize: false } }), [src]);
    const until0 = Date.now() + 8000;
    while (Date.now() < until0 && !(await page.evaluate(() => window.st.switched.length))) await sleep(100);
    const first = await page.evaluate(() => window.st.switched[0]);
    assert.ok(first >= 1, 'started at level ' + first);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20,
      downloadThroughput: 100000 / 8, uploadThroughput: 100000 / 8 });
    let lower = false;
    const until = Date.now() + 25000;
    while (Date.now() < until) {
      await sleep(250);
      const st = await page.evaluate(() => window.st);
      assert.equal(st.fatal, null);
      if (st.switched.some((l) => l < first)) { lower = true; break; }
    }
    assert.ok(lower, 'no switch down: ' + JSON.stringify(await page.evaluate(() => window.st)));
  } finally {
    await browser.close();
  }
});
