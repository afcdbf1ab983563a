import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyLines, classifyMeta, classifyPair, classifyText, FIXES } from '../../src/compare/classify.ts';

const NOW = Date.parse('2026-11-23T00:00:00Z');
const names = (cs: { cause: string }[]) => cs.map((c) => c.cause);

test('dates and times that differ are an embedded timestamp, with the matched tokens as evidence', () => {
  const cs = classifyPair('built 2026-11-22 10:00:01 on x', 'built 2026-11-23 11:02:03 on x', {}, NOW);
  assert.deepEqual(names(cs), ['embedded-timestamp']);
  assert.match(cs[0]!.evidence, /2026-11-22.*2026-11-23/);
  assert.match(cs[0]!.fix, /SOURCE_DATE_EPOCH/);
  assert.deepEqual(names(classifyPair('#define BUILD "Nov 22 2026"', '#define BUILD "Nov 23 2026"', {}, NOW)), ['embedded-timestamp']);
});

test('epoch seconds near now are an embedded timestamp; other numbers are not', () => {
  assert.deepEqual(names(classifyPair('stamp=1763800000', 'stamp=1763890000', {}, NOW)), ['embedded-timestamp']);
  assert.deepEqual(names(classifyPair('count=1234567', 'count=1234568', {}, NOW)), []);
});

test('a differing zone name or offset is timezone', () => {
  assert.ok(names(classifyPair('Sun Nov 22 12:00:00 UTC 2026', 'Sun Nov 22 13:00:00 CET 2026', {}, NOW)).includes('timezone'));
  assert.deepEqual(names(classifyPair('at 12:00:00 +0000', 'at 12:00:00 +0100', {}, NOW)), ['timezone']);
});

test('differing build directories are build-path, fixed with a prefix map', () => {
  const cs = classifyPair('assert failed in /build/pkg-Xa1/src/main.c', 'assert failed in /tmp/pkg-Qz9/src/main.c', {}, NOW);
  assert.deepEqual(names(cs), ['build-path']);
  assert.match(cs[0]!.fix, /file-prefix-map/);
});

test('hostnames, by context or by hint', () => {
  assert.deepEqual(names(classifyPair('hostname: buildbox-17', 'hostname: ci-runner-4', {}, NOW)), ['hostname']);
  assert.deepEqual(names(classifyPair('made by zork', 'made by quux', { hostnames: ['quux'] }, NOW)), ['hostname']);
});

test('hints name build paths, users and canaries exactly', () => {
  assert.deepEqual(names(classifyPair('at /srv/a', 'at /srv/b-canary', { buildPaths: ['/srv/b-canary'] }, NOW)), ['build-path']);
  assert.deepEqual(names(classifyPair('by alice', 'by reprodcanaryuser', { users: ['reprodcanaryuser'] }, NOW)), ['username']);
  assert.deepEqual(names(classifyPair('x', 'x CANARY42', { canaries: [{ variation: 'locale', canary: 'CANARY42' }] }, NOW)), ['locale']);
});

test('high-entropy runs (uuid, hex, base64) are randomness', () => {
  assert.deepEqual(names(classifyPair('id=3f2b8c1e-9a4d-4f6e-8b7c-1d2e3f4a5b6c', 'id=a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d', {}, NOW)), ['randomness']);
  assert.deepEqual(names(classifyPair('seed 9f86d081884c7d659a2feaa0c55ad015', 'seed 2c26b46b68ffc68ff99b453c1d304134', {}, NOW)), ['randomness']);
});

test('locale: decimal comma, and C versus dictionary sort order', () => {
  assert.deepEqual(names(classifyPair('total 1.5 MB', 'total 1,5 MB', {}, NOW)), ['locale']);
  assert.ok(names(classifyPair('built Mon Nov 23 2026', 'built lun. nov. 23 2026', {}, NOW)).includes('locale'));
  assert.ok(names(classifyPair('Stand: Tuesday 3 March', 'Stand: Dienstag 3 März', {}, NOW)).includes('locale'));
  assert.deepEqual(names(classifyLines(['Banana', 'apple', 'cherry'], ['apple', 'Banana', 'cherry'], {}, NOW)), ['locale']);
  assert.deepEqual(names(classifyLines(['b', 'c', 'a'], ['c', 'a', 'b'], {}, NOW)), ['randomness']);
});

test('nothing recognisable is unknown (classifyText always names a cause)', () => {
  assert.deepEqual(names(classifyText(['foo'], ['bar'])), ['unknown']);
});

test('header metadata maps to its cause with both values as evidence', () => {
  assert.equal(classifyMeta('mtime', '2026-01-01', '2026-11-22').cause, 'archive-mtime');
  assert.equal(classifyMeta('uid', 0, 1000).cause, 'file-ownership');
  assert.equal(classifyMeta('uname', 'root', 'builder').cause, 'file-ownership');
  assert.equal(classifyMeta('mode', '0644', '0664').cause, 'file-permissions');
  assert.equal(classifyMeta('gzip.mtime', 0, 1763800000).cause, 'gzip-header');
  assert.equal(classifyMeta('order', 'a, b', 'b, a').cause, 'archive-order');
  assert.match(classifyMeta('uid', 0, 1000).evidence, /0 ⇢ 1000/);
  for (const fix of Object.values(FIXES)) assert.ok(fix.length > 10);
});

test('a checksum line whose digest alone differs is a checksum (a consequence), not randomness', () => {
  const cs = classifyPair('30c14089fd21badeb0bd586ad81e4894  usr/bin/hello', '5390f1786b9d3504f31b98f48d3fef15  usr/bin/hello', {}, NOW);
  assert.deepEqual(names(cs), ['checksum']);
  assert.match(cs[0]!.evidence, /usr\/bin\/hello/);
  assert.deepEqual(names(classifyPair(`${'a'.repeat(64)} *dist/x.tgz`, `${'b'.repeat(64)} *dist/x.tgz`, {}, NOW)), ['checksum']);
  // Another file name, or a bare hex token, is not a checksum line.
  assert.ok(!names(classifyPair('30c14089fd21badeb0bd586ad81e4894  a', '5390f1786b9d3504f31b98f48d3fef15  b', {}, NOW)).includes('checksum'));
  assert.deepEqual(names(classifyPair('id 30c14089fd21badeb0bd586ad81e4894', 'id 5390f1786b9d3504f31b98f48d3fef15', {}, NOW)), ['randomness']);
});
