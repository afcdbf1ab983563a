import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isReprodError } from '../../src/errors.ts';
import { field, fieldLines, judgeStatus, parseDeb822, splitClearsigned, verifyClearsigned } from '../../src/inputs/debian/deb822.ts';
import { makeTestKey, type TestKey } from '../support/gpg-key.ts';

let key: TestKey;
let other: TestKey;
before(async () => {
  key = await makeTestKey();
  other = await makeTestKey('someone else');
});
after(async () => {
  await key.cleanup();
  await other.cleanup();
});

const release = `Origin: Test
Suite: stable
# a comment
SHA256:
 0123 12 main/binary-amd64/Packages
 4567 34 main/binary-amd64/Packages.xz

Package: hello
Version: 2.10-3
Description: greets
 the world
 .
 politely
`;

test('deb822: paragraphs, case-insensitive fields, continuation lines kept, comments dropped', () => {
  const ps = parseDeb822(release);
  assert.equal(ps.length, 2);
  assert.deepEqual(Object.keys(ps[0]!), ['Origin', 'Suite', 'SHA256']);
  assert.equal(field(ps[0]!, 'sha256'), '\n 0123 12 main/binary-amd64/Packages\n 4567 34 main/binary-amd64/Packages.xz');
  assert.deepEqual(fieldLines(ps[0]!, 'SHA256'), ['0123 12 main/binary-amd64/Packages', '4567 34 main/binary-amd64/Packages.xz']);
  assert.equal(field(ps[1]!, 'description'), 'greets\n the world\n .\n politely');
  assert.equal(field(ps[1]!, 'Missing'), undefined);
  assert.throws(() => parseDeb822(' leading continuation\n'), (e) => isReprodError(e, 'ATTESTATION_MALFORMED'));
  assert.throws(() => parseDeb822('A: 1\nA: 2\n'), (e) => isReprodError(e, 'ATTESTATION_MALFORMED'));
});

test('clear-signed: a good signature returns the body gpgv verified; armoured keyrings work too', async () => {
  const signed = await key.clearsign('- dash\n' + release);
  const split = splitClearsigned(signed);
  assert.equal(split.signed, true);
  assert.equal(split.body, '- dash\n' + release);
  assert.equal((await verifyClearsigned(signed, [key.keyring])).trimEnd(), ('- dash\n' + release).trimEnd());
  assert.equal(parseDeb822(await verifyClearsigned(await key.clearsign(release), [other.keyring, key.armoredKeyring])).length, 2);
  assert.deepEqual(splitClearsigned(release), { body: release, signed: false });
});

test('clear-signed: tampered body, unknown key, unsigned and text outside the block are refused with the code', async () => {
  const signed = await key.clearsign(release);
  const tampered = signed.replace('Version: 2.10-3', 'Version: 2.10-4');
  const code = (c: string) => (e: unknown) => isReprodError(e, c as never);
  await assert.rejects(verifyClearsigned(tampered, [key.keyring], { code: 'INTERNAL' }), code('INTERNAL'));
  await assert.rejects(verifyClearsigned(tampered, [key.keyring]), code('SIGNATURE_INVALID'));
  await assert.rejects(verifyClearsigned(signed, [other.keyring]), code('SIGNATURE_INVALID'));
  await assert.rejects(verifyClearsigned(release, [key.keyring]), code('SIGNATURE_INVALID'));
  await assert.rejects(verifyClearsigned('Package: evil\n\n' + signed, [key.keyring]), code('SIGNATURE_INVALID'));
  await assert.rejects(verifyClearsigned(signed + '\nPackage: evil\n', [key.keyring]), code('SIGNATURE_INVALID'));
  assert.throws(() => splitClearsigned(signed + signed), code('SIGNATURE_INVALID'));
});

test('gpgv status: one good signature among unknown keys is enough; any bad or expired one is not', () => {
  const good = '[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG AA x\n[GNUPG:] VALIDSIG FPR1 2024\n';
  assert.equal(judgeStatus(good + '[GNUPG:] ERRSIG BB 1 10 00 1 9\n[GNUPG:] NO_PUBKEY BB\n').ok, true);
  assert.equal(judgeStatus(good + '[GNUPG:] BADSIG BB x\n').ok, false);
  assert.equal(judgeStatus('[GNUPG:] EXPKEYSIG AA x\n[GNUPG:] VALIDSIG FPR1\n').ok, false);
  assert.match(judgeStatus('[GNUPG:] NO_PUBKEY BB\n').why, /no key for BB/);
});
