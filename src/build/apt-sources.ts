/**
 * The machine's own Debian mirrors, for mmdebstrap: read from apt's sources
 * (deb822 `.sources` and one-line `.list` files) at run time, so no mirror host is
 * ever written in the repo, and re-aimed at the recipe's release (`bookworm`,
 * `bookworm-updates`, `bookworm-security` for a host on another release).
 */
import { readFile } from 'node:fs/promises';
import { parseSourcesFile, parseSourcesList, readAptSources, type AptSource } from '../inputs/debian/apt-sources.ts';

const KEPT_SUFFIXES = ['', '-updates', '-security'];

/** The binary (`deb`) entries, with Debian's default component when none is named. */
function binarySources(sources: AptSource[]): AptSource[] {
  return sources.filter((s) => s.types.includes('deb')).map((s) => (s.components.length ? s : { ...s, components: ['main'] }));
}

export function parseAptSources(files: Array<{ name: string; text: string }>): AptSource[] {
  return binarySources(files.flatMap((f) => (f.name.endsWith('.sources') ? parseSourcesFile(f.text) : parseSourcesList(f.text))));
}

/**
 * One-line `deb URI SUITE COMPONENTS` entries for `release`, from the host's
 * sources of its own Debian release (`hostCodename`); third-party repositories
 * (other suite names) are left out.
 */
export function mirrorLines(sources: AptSource[], hostCodename: string, release: string): string[] {
  const lines = new Set<string>();
  for (const s of sources) {
    for (const suite of s.suites) {
      const dash = suite.indexOf('-');
      const base = dash < 0 ? suite : suite.slice(0, dash);
      const suffix = dash < 0 ? '' : suite.slice(dash);
      if (base !== hostCodename || !KEPT_SUFFIXES.includes(suffix)) continue;
      // The security archive only holds -security suites, the main archive the others.
      lines.add(`deb ${s.uri} ${release}${suffix} ${s.components.join(' ')}`);
    }
  }
  return [...lines];
}

export async function hostAptSources(root = '/etc/apt'): Promise<AptSource[]> {
  return binarySources(await readAptSources(root));
}

/** VERSION_CODENAME of a Debian host, else undefined (not Debian: let mmdebstrap pick its default). */
export async function hostDebianCodename(osRelease = '/etc/os-release'): Promise<string | undefined> {
  const text = await readFile(osRelease, 'utf8').catch(() => '');
  const field = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1];
  return field('ID') === 'debian' ? field('VERSION_CODENAME') || undefined : undefined;
}

/** The host's Debian mirrors re-aimed at `release`; empty when there are none to use. */
export async function hostMirrors(release: string): Promise<string[]> {
  const codename = await hostDebianCodename();
  return codename ? mirrorLines(await hostAptSources(), codename, release) : [];
}
