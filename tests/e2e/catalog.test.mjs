// The browse API end to end: a catalogue seeded with `tonearm seed`, then list, filter, sort,
// paginate, get, ETag/304, PATCH and DELETE over HTTP, and bad parameters as problem+json.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, runTonearm, backendEnv, expectProblem } from './lib/server.mjs';
import { login, ADMIN_PASSWORD } from './lib/auth.mjs';

const N = 300;
let srv;
let env;
let api;
let token;
// Every request of this file is the admin's: reading needs a signed-in user, writing an admin.
const afetch = (url, opts = {}) =>
  fetch(url, { ...opts, headers: { ...(opts.headers || {}), authorization: `Bearer ${token}` } });

before(async () => {
  env = backendEnv(); // one database for the server and the seeding
  srv = await startServer({ env, backends: false });
  const r = await runTonearm(['seed', '--data', srv.dataDir, '--tracks', String(N), '--seed', '42', '--log-level', 'warn'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`seeded ${N} tracks`));
  token = (await login(srv.url, 'admin', ADMIN_PASSWORD)).access_token;
  api = (path) => afetch(srv.url + '/api/v1' + path);
});

test('the catalogue is for signed-in users: no token is 401, a bad one too', async () => {
  await expectProblem(assert, await fetch(srv.url + '/api/v1/tracks'), 401);
  await expectProblem(assert, await fetch(srv.url + '/api/v1/albums', { headers: { authorization: 'Bearer x.y.z' } }), 401);
});
after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, srv.output().slice(-2000));
});

async function json(path, status = 200) {
  const r = await api(path);
  assert.equal(r.status, status, `${path}: ${r.status}`);
  return r.json();
}

// Every page of a list; checks each page's size and that nothing repeats.
async function walk(path, limit) {
  const ids = [], items = [];
  let cursor = null;
  for (let pages = 0; pages < 1000; pages++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await json(`${path}${sep}limit=${limit}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
    assert.ok(page.items.length <= limit);
    if (page.next_cursor) assert.equal(page.items.length, limit);
    for (const it of page.items) { ids.push(it.id); items.push(it); }
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  assert.equal(new Set(ids).size, ids.length, `${path}: an item came twice`);
  return items;
}

test('every track is listed exactly once, in every sort order', async () => {
  for (const sort of ['name', '-name', 'sort_name', 'year', '-year', 'added', '-added']) {
    const items = await walk(`/tracks?sort=${sort}`, 37);
    assert.equal(items.length, N, sort);
  }
  const byYear = await walk('/tracks?sort=-year', 100);
  for (let i = 1; i < byYear.length; i++) assert.ok((byYear[i - 1].year ?? 0) >= (byYear[i].year ?? 0));
  const albums = await walk('/albums', 7);
  assert.equal(albums.length, N / 10);
  const genres = await walk('/genres', 500);
  assert.ok(genres.length > 10 && genres.length <= 50);
  const artists = await walk('/artists?sort=sort_name', 3);
  assert.ok(artists.length >= N / 40);
});

test('a track has its album, credits, genres and format', async () => {
  const page = await json('/tracks?limit=1');
  const t = await json('/tracks/' + page.items[0].id);
  assert.equal(t.id, page.items[0].id);
  assert.equal(typeof t.title, 'string');
  assert.match(t.album.id, /^[0-7][0-9A-Z]{25}$/);
  assert.ok(t.artists.length >= 1);
  assert.equal(t.artists[0].role, 'main');
  assert.ok(t.genres.length >= 1);
  assert.equal(t.format.codec, 'flac');
  assert.match(t.sha256, /^[0-9a-f]{64}$/);
  assert.ok('lyrics' in t);
  assert.ok(!('path' in t) && !('object_key' in t), 'storage details stay inside');
});

test('filters: album, artist, genre, year range, added_since, q', async () => {
  const t = (await json('/tracks?limit=1')).items[0];
  const album = await json('/albums/' + t.album.id);
  assert.equal(album.tracks.length, album.track_count);
  for (let i = 1; i < album.tracks.length; i++) {
    const a = album.tracks[i - 1], b = album.tracks[i];
    assert.ok((a.disc ?? 0) < (b.disc ?? 0) || ((a.disc ?? 0) === (b.disc ?? 0) && (a.track ?? 0) <= (b.track ?? 0)));
  }
  const onAlbum = await walk('/tracks?album=' + t.album.id, 4);
  assert.deepEqual(onAlbum.map((x) => x.id).sort(), album.tracks.map((x) => x.id).sort());

  const artistId = t.artists[0].id;
  for (const x of await walk('/tracks?artist=' + artistId, 50)) assert.ok(x.artists.some((a) => a.id === artistId));
  const artist = await json('/artists/' + artistId);
  assert.ok(artist.track_count >= 1);

  const genreId = t.genres[0].id;
  const inGenre = await walk('/tracks?genre=' + genreId, 50);
  assert.ok(inGenre.length >= 1);
  for (const x of inGenre) assert.ok(x.genres.some((g) => g.id === genreId));
  assert.equal((await json('/genres/' + genreId)).track_count, inGenre.length);

  const years = await walk('/tracks?year_from=1980&year_to=1989', 100);
  for (const x of years) assert.ok(x.year >= 1980 && x.year <= 1989);
  const all = await walk('/tracks', 500);
  assert.equal(years.length, all.filter((x) => x.year >= 1980 && x.year <= 1989).length);

  assert.equal((await json('/tracks?added_since=2999-01-01T00:00:00Z')).items.length, 0);
  assert.equal((await walk('/tracks?added_since=0', 500)).length, N);

  const word = t.title.split(' ')[0];
  const hits = await walk('/tracks?q=' + encodeURIComponent(word.toUpperCase()), 500);
  assert.ok(hits.some((x) => x.id === t.id));
});

test('ETag: If-None-Match gets 304 until the catalogue changes', async () => {
  const r1 = await api('/tracks?limit=5');
  const etag = r1.headers.get('etag');
  assert.match(etag, /^W\/"c\d+"$/);
  const r2 = await afetch(srv.url + '/api/v1/tracks?limit=5', { headers: { 'If-None-Match': etag } });
  assert.equal(r2.status, 304);
  assert.equal(r2.headers.get('etag'), etag);
  const id = (await r1.json()).items[0].id;
  const r3 = await afetch(srv.url + '/api/v1/tracks/' + id, { headers: { 'If-None-Match': `"other", ${etag}` } });
  assert.equal(r3.status, 304);
  // A change makes the old tag stale.
  const p = await afetch(srv.url + '/api/v1/tracks/' + id, {
    method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ bpm: 99 }),
  });
  assert.equal(p.status, 200);
  const r4 = await afetch(srv.url + '/api/v1/tracks?limit=5', { headers: { 'If-None-Match': etag } });
  assert.equal(r4.status, 200);
  assert.notEqual(r4.headers.get('etag'), etag);
});

// A server keeps the JSON of the tracks it listed, under each row's revision (migration 0016,
// src/api/track_json.c). A second server on the same database keeps none: both must answer the
// same bytes, before and after writes made through either of them (two nodes behind a balancer).
test('kept track JSON: the same pages as a server that keeps none, after writes through either', async () => {
  const other = await startServer({
    env: { ...env, TONEARM_DB: env.TONEARM_DB || `sqlite://${srv.dataDir}/tonearm.db`, TONEARM_TRACK_JSON_CACHE: '0' },
    backends: false,
  });
  try {
    const otherToken = (await login(other.url, 'admin', ADMIN_PASSWORD)).access_token;
    const page = async (base, tok, path) => {
      const r = await fetch(base + '/api/v1' + path, { headers: { authorization: `Bearer ${tok}` } });
      assert.equal(r.status, 200);
      return r.text();
    };
    const both = async (path) => {
      const kept = await page(srv.url, token, path);
      const again = await page(srv.url, token, path); // from what was kept
      const fresh = await page(other.url, otherToken, path);
      assert.equal(again, kept, path);
      assert.equal(kept, fresh, path);
      return JSON.parse(kept);
    };
    const paths = ['/tracks?limit=20', '/tracks?limit=20&sort=added&desc=true', '/tracks?limit=7&sort=year'];
    for (const p of paths) await both(p);
    const first = (await both(paths[0])).items;
    const patchAt = async (base, tok, id, body) => {
      const r = await fetch(`${base}/api/v1/tracks/${id}`, {
        method: 'PATCH', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(r.status, 200);
    };
    // Written through this server, then through the other: this one's kept JSON must not show.
    await patchAt(srv.url, token, first[3].id, { title: first[3].title + ' (live)', genres: ['Kept Genre'] });
    await patchAt(other.url, otherToken, first[5].id, { artists: ['Someone Else'], bpm: 123.5 });
    for (const p of paths) await both(p);
    const all = new Map((await both('/tracks?limit=500')).items.map((t) => [t.id, t])); // every track
    const t3 = all.get(first[3].id);
    assert.equal(t3.title, first[3].title + ' (live)');
    assert.deepEqual(t3.genres.map((g) => g.name), ['Kept Genre']);
    const t5 = all.get(first[5].id);
    assert.deepEqual(t5.artists.map((a) => a.name), ['Someone Else']);
    assert.equal(t5.bpm, 123.5);
    // It did keep them: hits counted in /metrics, none on the other server.
    const metric = async (base, name) => {
      const text = await (await fetch(base + '/metrics')).text();
      const m = text.match(new RegExp(`^${name} (\\d+)`, 'm'));
      return m ? Number(m[1]) : null;
    };
    assert.ok((await metric(srv.url, 'tonearm_track_json_cache_hits_total')) > 0);
    assert.equal(await metric(other.url, 'tonearm_track_json_cache_hits_total'), null);
  } finally {
    await other.stop();
  }
});

test('PATCH corrects metadata and validates every field', async () => {
  const t = (await json('/tracks?limit=1&sort=added')).items[0];
  const url = srv.url + '/api/v1/tracks/' + t.id;
  const patch = (body) => afetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  let r = await patch({
    title: 'The Corrected Title', artists: ['Björk', { name: 'Guest Star', role: 'featured' }],
    album: 'Fixed Album', genres: ['Trip Hop'], year: 1995, track: 3, isrc: 'GBAYE9500001', lyrics: 'la la',
  });
  assert.equal(r.status, 200);
  const u = await r.json();
  assert.equal(u.title, 'The Corrected Title');
  assert.equal(u.sort_title, 'Corrected Title, The');
  assert.deepEqual(u.artists.map((a) => [a.name, a.role]), [['Björk', 'main'], ['Guest Star', 'featured']]);
  assert.equal(u.album.title, 'Fixed Album');
  assert.deepEqual(u.genres.map((g) => g.name), ['Trip Hop']);
  assert.equal(u.year, 1995);
  assert.equal(u.lyrics, 'la la');
  // The same artist by another spelling is the same artist.
  r = await patch({ artists: [' BJORK '] });
  assert.equal((await r.json()).artists[0].id, u.artists[0].id);
  r = await patch({ isrc: null });
  assert.equal((await r.json()).isrc, null);

  for (const [body, field] of [
    [{ title: '' }, 'title'], [{ title: null }, 'title'], [{ title: 'x'.repeat(1001) }, 'title'],
    [{ year: 10000 }, 'year'], [{ year: -1 }, 'year'], [{ track: 1.5 }, 'track'], [{ disc: '2' }, 'disc'],
    [{ artists: [] }, 'artists'], [{ artists: [{ name: 'x', role: 'composer' }] }, 'artists'],
    [{ genres: 'Rock' }, 'genres'], [{ bpm: -3 }, 'bpm'], [{ nope: 1 }, 'nope'], [{ id: 'x' }, 'id'],
  ]) {
    const p = await expectProblem(assert, await patch(body), 400);
    assert.match(p.detail, new RegExp(field), JSON.stringify(body));
  }
  await expectProblem(assert, await afetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '[1,2' }), 400);
  await expectProblem(assert, await afetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '"just a string"' }), 400);
  await expectProblem(assert, await afetch(srv.url + '/api/v1/tracks/01ARZ3NDEKTSV4RRFFQ69G5FAV', {
    method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"year": 2000}',
  }), 404);
});

test('DELETE removes the track, then its empty album; 404 afterwards', async () => {
  const albums = await walk('/albums', 500);
  // The smallest album, so deleting its tracks empties it.
  let album = null;
  for (const a of albums) {
    const full = await json('/albums/' + a.id);
    if (!album || full.tracks.length < album.tracks.length) album = full;
  }
  for (const t of album.tracks) {
    const r = await afetch(srv.url + '/api/v1/tracks/' + t.id, { method: 'DELETE' });
    assert.equal(r.status, 204);
    await expectProblem(assert, await api('/tracks/' + t.id), 404);
  }
  await expectProblem(assert, await api('/albums/' + album.id), 404);
  await expectProblem(assert, await afetch(srv.url + '/api/v1/tracks/' + album.tracks[0].id, { method: 'DELETE' }), 404);
  assert.equal((await walk('/tracks', 500)).length, N - album.tracks.length);
});

test('bad parameters are 400 problems naming the parameter; unknown ids 404', async () => {
  for (const [q, name] of [
    ['sort=loudest', 'sort'], ['limit=0', 'limit'], ['limit=501', 'limit'], ['limit=ten', 'limit'],
    ['year_from=abc', 'year_from'], ['year_to=100000', 'year_to'], ['added_since=yesterday', 'added_since'],
    ['added_since=2024-13-01T00:00:00Z', 'added_since'], ['artist=nope', 'artist'], ['genre=%27%3B--', 'genre'],
    ['cursor=%21%21%21', 'cursor'], ['cursor=AAAA', 'cursor'], ['cursor=' + 'A'.repeat(5000), 'cursor'],
    ["cursor=' OR '1'='1", 'cursor'],
  ]) {
    const p = await expectProblem(assert, await api('/tracks?' + q), 400);
    assert.match(p.detail, new RegExp(name), q);
  }
  // A valid cursor from another list or order is refused too.
  const c = (await json('/albums?limit=1')).next_cursor;
  assert.ok(c);
  const p = await expectProblem(assert, await api('/tracks?cursor=' + encodeURIComponent(c)), 400);
  assert.match(p.detail, /cursor/);
  await expectProblem(assert, await api('/artists?sort=year'), 400);
  await expectProblem(assert, await api('/genres?album=01ARZ3NDEKTSV4RRFFQ69G5FAV'), 400);
  for (const kind of ['artists', 'albums', 'tracks', 'genres']) {
    await expectProblem(assert, await api(`/${kind}/01ARZ3NDEKTSV4RRFFQ69G5FAV`), 404);
    await expectProblem(assert, await api(`/${kind}/not-an-id`), 404);
  }
  // The server is still fine.
  assert.equal((await api('/tracks?limit=1')).status, 200);
});
