// Native HTTPS: a self-signed certificate made with `openssl req` in a temporary folder, the
// server started with tls_cert/tls_key; HTTPS/1.1 and HTTP/2 by ALPN with Node, TLS 1.0/1.1
// and a weak TLS 1.2 cipher refused (`openssl s_client`), HSTS on every answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http2 from 'node:http2';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { adminEnv } from './lib/auth.mjs';

let srv, dir, ca;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tonearm-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
  ca = readFileSync(join(dir, 'cert.pem'));
  srv = await startServer({ env: { ...adminEnv, TONEARM_TLS_CERT: join(dir, 'cert.pem'), TONEARM_TLS_KEY: join(dir, 'key.pem') } });
});
after(async () => {
  const r = await srv.stop();
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.code, 0, srv.output().slice(-2000));
});

function httpsGet(path) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: srv.port, path, ca }, (res) => {
      const proto = res.socket.getProtocol();
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body, proto }));
    });
    req.on('error', reject);
  });
}

// Run `openssl s_client` with `args`; true when a handshake completed.
function handshake(args) {
  const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${srv.port}`, '-servername', 'localhost', ...args],
    { input: '', timeout: 10000, encoding: 'utf8' });
  const out = (r.stdout || '') + (r.stderr || '');
  return { ok: r.status === 0 && /Cipher is (?!\(NONE\))/.test(out) && !/Cipher is \(NONE\)/.test(out), out };
}

test('HTTPS answers with HSTS and the security headers', async () => {
  const r = await httpsGet('/api/v1/version');
  assert.equal(r.status, 200);
  assert.equal(r.headers['strict-transport-security'], 'max-age=63072000');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.match(r.proto, /^TLSv1\.[23]$/);
  const nf = await httpsGet('/no/such/thing');
  assert.equal(nf.status, 404);
  assert.equal(nf.headers['strict-transport-security'], 'max-age=63072000');
});

test('HTTP/2 by ALPN', async () => {
  const client = http2.connect(`https://127.0.0.1:${srv.port}`, { ca });
  try {
    const { status, hsts, alpn } = await new Promise((resolve, reject) => {
      client.on('error', reject);
      const req = client.request({ ':path': '/api/v1/version' });
      req.on('response', (h) => {
        req.resume();
        req.on('end', () => resolve({ status: h[':status'], hsts: h['strict-transport-security'], alpn: client.alpnProtocol }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(alpn, 'h2');
    assert.equal(status, 200);
    assert.equal(hsts, 'max-age=63072000');
  } finally {
    client.close();
  }
});

test('TLS 1.2 with an AEAD suite and TLS 1.3 are accepted; 1.0, 1.1 and weak ciphers are refused', () => {
  assert.ok(handshake(['-tls1_3']).ok, 'TLS 1.3');
  const t12 = handshake(['-tls1_2']);
  assert.ok(t12.ok, 'TLS 1.2');
  assert.match(t12.out, /Cipher is ECDHE-ECDSA-(AES\d+-GCM|CHACHA20)/);
  // OpenSSL 3 clients need security level 0 to even offer TLS 1.0/1.1.
  assert.equal(handshake(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']).ok, false, 'TLS 1.1 must be refused');
  assert.equal(handshake(['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0']).ok, false, 'TLS 1.0 must be refused');
  assert.equal(handshake(['-tls1_2', '-cipher', 'AES128-SHA']).ok, false, 'AES128-SHA must be refused');
  assert.equal(handshake(['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA']).ok, false, 'CBC suites must be refused');
});

test('cleartext HTTP on the TLS port gets no answer', async () => {
  await assert.rejects(fetch(`http://127.0.0.1:${srv.port}/healthz`));
});
