import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isReprodError } from '../../src/errors.ts';
import { parseSourcesFile, parseSourcesList, pickDebianMirror, readAptSources } from '../../src/inputs/debian/apt-sources.ts';

// Host names here are placeholders (.invalid); the real ones are read from the machine at run time.
const deb822 = `Types: deb
URIs: http://mirror.invalid/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.invalid/debian-security
Suites: bookworm-security
Components: main

Enabled: no
Types: deb
URIs: http://disabled.invalid/debian
Suites: sid
Components: main
`;

test("apt sources: deb822 and one-line entries; the mirror is the first non-security deb source with main", async () => {
  const parsed = parseSourcesFile(deb822);
  assert.equal(parsed.length, 2);
  assert.deepEqual(parsed[0], { types: ['deb'], uri: 'http://mirror.invalid/debian', suites: ['bookworm', 'bookworm-updates'], components: ['main'], signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg' });
  assert.deepEqual(parseSourcesList('# c\ndeb-src http://a.invalid/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://b.invalid/debian trixie main contrib\n'), [
    { types: ['deb-src'], uri: 'http://a.invalid/debian', suites: ['bookworm'], components: ['main'] },
    { types: ['deb'], uri: 'http://b.invalid/debian', suites: ['trixie'], components: ['main', 'contrib'], signedBy: '/k.gpg' },
  ]);
  const root = await mkdtemp(join(tmpdir(), 'reprod-apt-'));
  try {
    await mkdir(join(root, 'sources.list.d'));
    await writeFile(join(root, 'sources.list.d', 'b-security.sources'), deb822.split('\n\n')[1]!);
    await writeFile(join(root, 'sources.list.d', 'a-other.list'), 'deb http://third.invalid/x stable contrib\n');
    await writeFile(join(root, 'sources.list'), 'deb http://mirror.invalid/debian bookworm main\n');
    const all = await readAptSources(root);
    assert.deepEqual(all.map((s) => s.uri), ['http://third.invalid/x', 'http://security.invalid/debian-security', 'http://mirror.invalid/debian']);
    assert.deepEqual(pickDebianMirror(all), { uri: 'http://mirror.invalid/debian', suites: ['bookworm'] });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  assert.throws(() => pickDebianMirror([]), (e) => isReprodError(e, 'CONFIG_INVALID'));
});
