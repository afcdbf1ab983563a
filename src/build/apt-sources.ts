/**
 * The machine's own Debian mirrors, for mmdebstrap: read from apt's sources
 * (deb822 `.sources` and one-line `.list` files) at run time, so no mirror host is
 * ever written in the repo, and re-aimed at the recipe's release (`bookworm`,
 * `bookworm-updates`, `bookworm-security` for a host on another release).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
}

const KEPT_SUFFIXES = ['', '-updates', '-security'];

function fromDeb822(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let last = '';
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#') || !line.trim()) continue;
      if (/^\s/.test(line) && last) fields[last] += ` ${line.trim()}`;
      else {
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m) fields[(last = m[1]!.toLowerCase())] = m[2]!;
      }
    }
    if (!(fields.types ?? '').split(/\s+/).includes('deb') || (fields.enabled ?? 'yes').toLowerCase() === 'no') continue;
    for (const uri of (fields.uris ?? '').split(/\s+/).filter(Boolean)) {
      out.push({ uri, suites: (fields.suites ?? '').split(/\s+/).filter(Boolean), components: (fields.components ?? 'main').split(/\s+/).filter(Boolean) });
    }
  }
  return out;
}

function fromOneLine(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').replace(/\[[^\]]*\]/, ' ').trim();
    const [type, uri, suite, ...components] = line.split(/\s+/);
    if (type === 'deb' && uri && suite) out.push({ uri, suites: [suite], components: components.length ? components : ['main'] });
  }
  return out;
}

export function parseAptSources(files: Array<{ name: string; text: string }>): AptSource[] {
  return files.flatMap((f) => (f.name.endsWith('.sources') ? fromDeb822(f.text) : fromOneLine(f.text)));
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
  const files: Array<{ name: string; text: string }> = [];
  const add = async (path: string) => {
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text !== undefined) files.push({ name: path, text });
  };
  await add(join(root, 'sources.list'));
  const dir = join(root, 'sources.list.d');
  for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
    if (name.endsWith('.list') || name.endsWith('.sources')) await add(join(dir, name));
  }
  return parseAptSources(files);
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
