// docs/api/openapi.yaml and the route table (src/api/routes.c) describe the same routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);

test('every route in the table is in openapi.yaml with its methods, and nothing else is', () => {
  const src = readFileSync(new URL('src/api/routes.c', root), 'utf8');
  const yaml = readFileSync(new URL('docs/api/openapi.yaml', root), 'utf8');
  const fromCode = new Map();
  for (const m of src.matchAll(/\{\s*([A-Z_| ]+),\s*"([^"]+)"/g)) {
    const methods = m[1].split('|').map((s) => s.trim().replace(/^HTTP_/, '').toLowerCase());
    fromCode.set(m[2], new Set([...(fromCode.get(m[2]) || []), ...methods]));
  }
  assert.ok(fromCode.size >= 4, 'parsed the route table');
  const fromDoc = new Map();
  let current = null;
  const pathsStart = yaml.indexOf('\npaths:\n');
  const pathsEnd = yaml.indexOf('\ncomponents:', pathsStart);
  for (const line of yaml.slice(pathsStart, pathsEnd).split('\n')) {
    let m = /^  (\/\S*):\s*$/.exec(line);
    if (m) { current = m[1]; fromDoc.set(current, new Set()); continue; }
    m = /^    (get|put|post|patch|delete|head|options):/.exec(line);
    if (m && current) fromDoc.get(current).add(m[1]);
  }
  assert.deepEqual([...fromDoc.keys()].sort(), [...fromCode.keys()].sort());
  for (const [path, methods] of fromCode) {
    assert.deepEqual([...fromDoc.get(path)].sort(), [...methods].sort(), path);
  }
});
