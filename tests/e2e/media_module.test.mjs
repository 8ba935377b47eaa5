// The media stack is a module loaded on first use (src/media/stack.h): an idle server maps
// none of FFmpeg, TagLib or libstdc++; the first upload loads tonearm-media.so from the
// binary's folder, once; a binary deployed without its module refuses to start (serve,
// worker, import).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, cleanEnv, startServer } from './lib/server.mjs';
import { ADMIN_PASSWORD, adminEnv, login, bearer } from './lib/auth.mjs';

const MEDIA_LIBS = /\/(libavcodec|libavformat|libtag|libchromaprint|libebur128)[^/]*\.so|tonearm-media\.so/;
const CXX = /\/libstdc\+\+[^/]*\.so/; // TagLib's; but gcc's libasan needs it too

const mapped = (pid) => {
  const paths = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').map((l) => l.split(/\s+/)[5]).filter(Boolean);
  const asan = paths.some((p) => /\/libasan[^/]*\.so/.test(p));
  return [...new Set(paths.filter((p) => MEDIA_LIBS.test(p) || (!asan && CXX.test(p))))];
};

test('an idle server maps no media library; the first upload loads the module once', async () => {
  const work = mkdtempSync(join(tmpdir(), 'tonearm-module-'));
  const song = join(work, 'song.flac');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=3',
    '-metadata', 'title=Lazy', '-metadata', 'artist=Module', song]);
  const srv = await startServer({ env: adminEnv });
  try {
    const token = (await login(srv.url, 'admin', ADMIN_PASSWORD)).access_token;
    assert.deepEqual(mapped(srv.proc.pid), [], 'mapped before any media work');

    const r = await fetch(srv.url + '/api/v1/tracks?name=song.flac', {
      method: 'POST', body: readFileSync(song), headers: { 'content-type': 'audio/flac', ...bearer(token) } });
    assert.equal(r.status, 201, await r.clone().text());
    const now = mapped(srv.proc.pid);
    assert.ok(now.some((p) => p.endsWith('/tonearm-media.so')), now.join('\n'));
    assert.ok(now.some((p) => /libavcodec/.test(p)), now.join('\n'));

    const again = await fetch(srv.url + '/api/v1/tracks?name=again.flac', {
      method: 'POST', body: readFileSync(song), headers: { 'content-type': 'audio/flac', ...bearer(token) } });
    assert.ok([200, 201].includes(again.status), await again.clone().text());
    const loads = srv.logs().filter((l) => l.msg === 'media module loaded');
    assert.equal(loads.length, 1, srv.output());
    assert.match(loads[0].path, /\/tonearm-media\.so$/);
  } finally {
    await srv.stop();
    rmSync(work, { recursive: true, force: true });
  }
});

test('a binary without its module next to it refuses to start, naming the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tonearm-nomodule-'));
  try {
    const bin = join(dir, 'tonearm');
    copyFileSync(BIN, bin);
    execFileSync('chmod', ['755', bin]);
    for (const cmd of [['serve'], ['worker'], ['import', dir]]) {
      const r = spawnSync(bin, [...cmd, '--listen', '127.0.0.1:0', '--data', join(dir, 'data')], {
        env: cleanEnv(adminEnv), encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 1, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`media module ${dir}/tonearm-media\\.so .*No such file`), r.stderr);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the binary links none of the media stack\'s libraries', () => {
  const needed = execFileSync('readelf', ['-d', BIN], { encoding: 'utf8' }).split('\n')
    .filter((l) => /\(NEEDED\)/.test(l)).map((l) => /\[(.*)\]/.exec(l)[1]);
  assert.ok(needed.some((n) => n.startsWith('libc.so')), needed.join(' '));
  const media = needed.filter((n) => /^(libav|libsw|libtag|libchromaprint|libebur128|libstdc\+\+)/.test(n));
  assert.deepEqual(media, []);
});
