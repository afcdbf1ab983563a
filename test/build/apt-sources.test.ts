import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mirrorLines, parseAptSources } from '../../src/build/apt-sources.ts';

const DEB822 = `Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: trixie trixie-updates trixie-backports
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: trixie-security
Components: main

Types: deb-src
URIs: http://mirror.example/debian
Suites: trixie

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: trixie
`;
const ONE_LINE = `deb [arch=amd64] http://third-party.example/repo nodistro main
deb http://other.example/debian trixie main # trailing comment
`;

describe('host apt sources for mmdebstrap', () => {
  it('re-aims the host release\'s main, updates and security suites at the recipe release; drops third-party, source and disabled entries', () => {
    const sources = parseAptSources([
      { name: '/etc/apt/sources.list.d/debian.sources', text: DEB822 },
      { name: '/etc/apt/sources.list', text: ONE_LINE },
    ]);
    assert.deepEqual(mirrorLines(sources, 'trixie', 'bookworm'), [
      'deb http://mirror.example/debian bookworm main contrib',
      'deb http://mirror.example/debian bookworm-updates main contrib',
      'deb http://mirror.example/debian-security bookworm-security main',
      'deb http://other.example/debian bookworm main',
    ]);
  });

  it('gives nothing when the host has no sources of its own release (mmdebstrap then uses its default)', () => {
    assert.deepEqual(mirrorLines(parseAptSources([{ name: 'x.list', text: ONE_LINE }]), 'bookworm', 'bookworm'), []);
  });
});
