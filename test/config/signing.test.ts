import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.ts';
import { DEFAULT_VERIFIER_ID } from '../../src/config/signing.ts';
import { isReprodError } from '../../src/errors.ts';

test('signing.key with the default verifier id', () => {
  const c = parseConfig({ signing: { key: 'keys/reprod.key' } });
  assert.deepEqual(c.signing, { key: 'keys/reprod.key', verifierId: DEFAULT_VERIFIER_ID });
});

test('signing.keyless with URLs and a token source', () => {
  const c = parseConfig({
    signing: { verifierId: 'https://r.example.org', keyless: { fulcioUrl: 'http://127.0.0.1:1', rekorUrl: 'http://127.0.0.1:2', tokenEnv: 'TOKEN' } },
  });
  assert.equal(c.signing?.keyless?.tokenEnv, 'TOKEN');
});

test('config errors name the key', () => {
  const bad: [unknown, RegExp][] = [
    [{ signing: {} }, /exactly one of signing.key or signing.keyless/],
    [{ signing: { key: 'k', keyless: { fulcioUrl: 'http://a', rekorUrl: 'http://b', tokenEnv: 'T' } } }, /exactly one/],
    [{ signing: { keyless: { fulcioUrl: 'http://a', rekorUrl: 'http://b' } } }, /signing\.keyless: set tokenFile or tokenEnv/],
    [{ signing: { keyless: { fulcioUrl: 'not a url', rekorUrl: 'http://b', tokenEnv: 'T' } } }, /signing\.keyless\.fulcioUrl/],
    [{ signing: { key: 'k', keyfile: 'x' } }, /signing: .*keyfile/],
  ];
  for (const [raw, re] of bad) {
    assert.throws(() => parseConfig(raw), (e) => isReprodError(e, 'CONFIG_INVALID') && re.test(e.message), JSON.stringify(raw));
  }
});
