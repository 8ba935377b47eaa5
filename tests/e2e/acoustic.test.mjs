// What the analysis offers clients: a track's waveform (audiowaveform JSON, as peaks.js reads
// it), its acoustic duplicates, and its album's ReplayGain album gain. The same melody uploaded
// as FLAC and as MP3 (two files, two tracks) is found as one recording; another melody of the
// same length is not. An album's gain matches ffmpeg's EBU R128 meter over the album played
// through, and a gain the tags carry is left alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, expectProblem } from './lib/server.mjs';
import { ADMIN_PASSWORD, login, bearer } from './lib/auth.mjs';

const SECONDS = 30;
let srv, admin, flac, mp3, other;

// A melody: the pitch changes every half second, in a pattern set by `a` and `b`.
function melody(name, a, b, args, { gain = 1, seconds = SECONDS } = {}) {
  const file = join(srv.dataDir, name);
  const f = `220*pow(2\\,floor(mod(t*${a}\\,${b}))/12)`;
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i',
    `aevalsrc=exprs=${gain}*(0.4*sin(2*PI*${f}*t)+0.2*sin(4*PI*${f}*t)):s=44100:d=${seconds}`, '-ac', '2', ...args, file]);
  return file;
}

// ffmpeg's EBU R128 integrated loudness of the files played one after the other.
function ffmpegLoudness(files) {
  const inputs = files.flatMap((f) => ['-i', f]);
  const graph = `${files.map((_, i) => `[${i}:a]`).join('')}concat=n=${files.length}:v=0:a=1,ebur128`;
  // The meter's summary goes to stderr.
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', ...inputs, '-filter_complex', graph, '-f', 'null', '-'],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

async function upload(file, type) {
  const r = await fetch(srv.url + `/api/v1/tracks?name=${file.split('/').pop()}`, {
    method: 'POST', body: readFileSync(file), headers: { 'content-type': type, ...bearer(admin) } });
  assert.equal(r.status, 201, await r.clone().text());
  return (await r.json()).id;
}

// GET with the admin's token, waiting out 409 (analysis not done yet) for a while.
async function getAnalysed(path) {
  for (let i = 0; i < 100; i++) {
    const r = await fetch(srv.url + path, { headers: bearer(admin) });
    if (r.status !== 409) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`${path}: still 409 after 20 s`);
}

before(async () => {
  srv = await startServer();
  admin = (await login(srv.url, 'admin', ADMIN_PASSWORD)).access_token;
  flac = await upload(melody('m1.flac', 2, 7, ['-c:a', 'flac']), 'audio/flac');
  mp3 = await upload(melody('m1.mp3', 2, 7, ['-c:a', 'libmp3lame', '-b:a', '128k']), 'audio/mpeg');
  other = await upload(melody('m2.flac', 3, 5, ['-c:a', 'flac']), 'audio/flac');
});

after(async () => {
  if (srv) {
    const r = await srv.stop();
    assert.equal(r.code, 0, srv.output().slice(-2000));
  }
});

test('the FLAC and the MP3 of one melody are duplicates of each other; another melody is not', async () => {
  let r = await getAnalysed(`/api/v1/tracks/${flac}/duplicates`);
  assert.equal(r.status, 200, await r.clone().text());
  let body = await r.json();
  assert.equal(body.track_id, flac);
  assert.equal(body.min_similarity, 70);
  assert.deepEqual(body.items.map((t) => t.id), [mp3], JSON.stringify(body));
  assert.ok(body.items[0].similarity >= 70 && body.items[0].similarity <= 100);
  assert.ok(body.items[0].title, 'each item is a track');

  await getAnalysed(`/api/v1/tracks/${other}/duplicates`);
  r = await getAnalysed(`/api/v1/tracks/${mp3}/duplicates`);
  assert.deepEqual((await r.json()).items.map((t) => t.id), [flac]);
  r = await getAnalysed(`/api/v1/tracks/${other}/duplicates`);
  assert.deepEqual((await r.json()).items, []);
  // With the bar at 1, the other melody may appear, but scores far below the real copy.
  r = await getAnalysed(`/api/v1/tracks/${flac}/duplicates?min_similarity=1`);
  body = await r.json();
  assert.equal(body.items[0].id, mp3);
  for (const t of body.items.slice(1)) assert.ok(t.similarity < 50, JSON.stringify(t));
});

test('the catalogue-wide list has the pair once, under the smaller id; the other melody is not in it', async () => {
  const r = await fetch(srv.url + '/api/v1/duplicates?limit=10', { headers: bearer(admin) });
  assert.equal(r.status, 200, await r.clone().text());
  const body = await r.json();
  const [lo, hi] = [flac, mp3].sort();
  assert.equal(body.items.length, 1, JSON.stringify(body));
  assert.equal(body.items[0].id, lo);
  assert.ok(body.items[0].title, 'each item is a track');
  assert.deepEqual(body.items[0].duplicates.map((t) => t.id), [hi]);
  assert.ok(body.items[0].duplicates[0].similarity >= 70);
  assert.equal(body.next_cursor, null);
  // Past the last group, an empty page; a cursor that is not an id is refused.
  const after = await (await fetch(srv.url + `/api/v1/duplicates?cursor=${lo}`, { headers: bearer(admin) })).json();
  assert.deepEqual(after.items, []);
  await expectProblem(assert, await fetch(srv.url + '/api/v1/duplicates?cursor=../x', { headers: bearer(admin) }), 400);
  await expectProblem(assert, await fetch(srv.url + '/api/v1/duplicates?limit=0', { headers: bearer(admin) }), 400);
  await expectProblem(assert, await fetch(srv.url + '/api/v1/duplicates'), 401);
});

test('the waveform: audiowaveform JSON covering the whole track, with a strong ETag', async () => {
  const r = await getAnalysed(`/api/v1/tracks/${flac}/waveform`);
  assert.equal(r.status, 200, await r.clone().text());
  const w = await r.json();
  assert.equal(w.version, 2);
  assert.equal(w.channels, 1);
  assert.equal(w.bits, 8);
  assert.equal(w.sample_rate, 44100);
  assert.ok(w.length >= 500 && w.length <= 2000, `${w.length} bins`);
  assert.equal(w.data.length, 2 * w.length);
  assert.ok(Math.abs(w.samples_per_pixel * w.length - SECONDS * 44100) <= w.samples_per_pixel);
  for (let i = 0; i < w.data.length; i += 2) {
    assert.ok(w.data[i] >= -127 && w.data[i] <= w.data[i + 1] && w.data[i + 1] <= 127);
  }
  // The melody peaks at 0.52 of full scale (0.4 sin x + 0.2 sin 2x), and ffmpeg's mono to
  // stereo upmix puts each channel 3 dB down: 0.37 (ffmpeg's volumedetect: -8.7 dB), 47 of 127.
  const top = Math.max(...w.data);
  assert.ok(top > 35 && top < 70, `max ${top}`);
  assert.ok(Math.min(...w.data) < -35, 'the minima are there too');
  const etag = r.headers.get('etag');
  assert.match(etag, /^"w[0-9a-f]{16}"$/);
  const again = await fetch(srv.url + `/api/v1/tracks/${flac}/waveform`, { headers: bearer(admin, { 'if-none-match': etag }) });
  assert.equal(again.status, 304);
});

test('album gain: the album played through, as ffmpeg measures it; a tagged album gain stays', async () => {
  const tags = (title) => ['-metadata', `title=${title}`, '-metadata', 'artist=Gain Artist', '-metadata', 'album=Gain Album'];
  const loud = melody('g1.flac', 2, 7, ['-c:a', 'flac', ...tags('Loud')], { gain: 1.5, seconds: 20 });
  const quiet = melody('g2.flac', 3, 5, ['-c:a', 'flac', ...tags('Quiet')], { gain: 0.3, seconds: 25 });
  const tagged = melody('g3.flac', 5, 3, ['-c:a', 'flac', ...tags('Tagged'), '-metadata', 'REPLAYGAIN_ALBUM_GAIN=-3.21 dB',
    '-metadata', 'REPLAYGAIN_ALBUM_PEAK=0.5'], { gain: 0.8, seconds: 15 });
  const ids = [];
  for (const f of [loud, quiet, tagged]) ids.push(await upload(f, 'audio/flac'));
  const tracks = [];
  for (const id of ids) tracks.push(await (await getAnalysed(`/api/v1/tracks/${id}`)).json());
  assert.equal(new Set(tracks.map((t) => t.album.id)).size, 1, 'one album');
  // ffmpeg -filter_complex concat,ebur128 prints "I: -12.3 LUFS" in its summary (the last one:
  // it prints an empty one first).
  const summary = ffmpegLoudness([loud, quiet, tagged]);
  const m = [...summary.matchAll(/Integrated loudness:\s*\n\s*I:\s*(-?[\d.]+) LUFS/g)].pop();
  assert.ok(m, summary.slice(-800));
  const want = -18 - Number(m[1]);
  const [a, b, c] = tracks.map((t) => t.replaygain);
  assert.equal(a.album_gain, b.album_gain, 'one gain for the album');
  assert.ok(Math.abs(a.album_gain - want) <= 0.15, `album gain ${a.album_gain} dB, ffmpeg says ${want.toFixed(2)}`);
  // The album's peak is its loudest track's, and its tracks' own gains differ.
  assert.ok(Math.abs(a.album_peak - Math.max(a.track_peak, b.track_peak, c.track_peak)) < 1e-3, JSON.stringify([a, b, c]));
  assert.ok(a.track_gain < a.album_gain && b.track_gain > b.album_gain, JSON.stringify([a, b]));
  // The tagger's album gain is kept as it was.
  assert.equal(c.album_gain, -3.21);
  assert.equal(c.album_peak, 0.5);
});

test('bad requests: unknown track 404, a path with an encoded slash 400, a bad min_similarity 400, no token 401', async () => {
  await expectProblem(assert, await fetch(srv.url + '/api/v1/tracks/01ZZZZZZZZZZZZZZZZZZZZZZZZ/waveform', { headers: bearer(admin) }), 404);
  await expectProblem(assert, await fetch(srv.url + '/api/v1/tracks/01ZZZZZZZZZZZZZZZZZZZZZZZZ/duplicates', { headers: bearer(admin) }), 404);
  await expectProblem(assert, await fetch(srv.url + '/api/v1/tracks/..%2F..%2Fetc/waveform', { headers: bearer(admin) }), 400);
  await expectProblem(assert, await fetch(srv.url + '/api/v1/tracks/not-an-id/duplicates', { headers: bearer(admin) }), 404);
  for (const q of ['abc', '0', '101', '-5']) {
    await expectProblem(assert, await fetch(srv.url + `/api/v1/tracks/${flac}/duplicates?min_similarity=${q}`, { headers: bearer(admin) }), 400);
  }
  await expectProblem(assert, await fetch(srv.url + `/api/v1/tracks/${flac}/waveform`), 401);
  await expectProblem(assert, await fetch(srv.url + `/api/v1/tracks/${flac}/duplicates`), 401);
});
