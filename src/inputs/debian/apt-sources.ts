/**
 * The machine's apt sources, read at run time so that no mirror host is ever
 * written into reprod: deb822 `/etc/apt/sources.list.d/*.sources` first, then
 * one-line `sources.list` entries.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReprodError } from '../../errors.ts';
import { field, parseDeb822 } from './deb822.ts';

export interface AptSource {
  types: string[];
  uri: string;
  suites: string[];
  components: string[];
  signedBy?: string;
}

/** Parses a deb822 `.sources` file (pure). Disabled entries (`Enabled: no`) are skipped. */
export function parseSourcesFile(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const p of parseDeb822(text)) {
    if ((field(p, 'Enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const words = (name: string) => (field(p, name) ?? '').split(/\s+/).filter((w) => w !== '');
    const signedBy = field(p, 'Signed-By');
    for (const uri of words('URIs')) {
      out.push({
        types: words('Types'),
        uri,
        suites: words('Suites'),
        components: words('Components'),
        // an inline key block is not a path; apt-style files only
        ...(signedBy && !signedBy.includes('\n') ? { signedBy: signedBy.trim() } : {}),
      });
    }
  }
  return out;
}

/** Parses one-line `deb [opts] URI suite comp…` entries (pure). */
export function parseSourcesList(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const signed = /signed-by=(\S+)/.exec(m[2] ?? '');
    out.push({ types: [m[1]!], uri: m[3]!, suites: [m[4]!], components: m[5]!.split(/\s+/).filter((w) => w !== ''), ...(signed ? { signedBy: signed[1]! } : {}) });
  }
  return out;
}

/** Every apt source of the machine (`root` is for tests). */
export async function readAptSources(root = '/etc/apt'): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const dir = join(root, 'sources.list.d');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.sort()) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => '');
    if (name.endsWith('.sources')) out.push(...parseSourcesFile(text));
    else if (name.endsWith('.list')) out.push(...parseSourcesList(text));
  }
  out.push(...parseSourcesList(await readFile(join(root, 'sources.list'), 'utf8').catch(() => '')));
  return out;
}

/**
 * The Debian mirror of the machine: the first binary (`deb`) source with a
 * `main` component whose suites are not security ones (security is a separate
 * archive). Its URI and suites become the archive defaults.
 */
export function pickDebianMirror(sources: AptSource[]): { uri: string; suites: string[] } {
  const found = sources.find((s) => s.types.includes('deb') && s.components.includes('main') && s.suites.some((x) => !x.includes('security')));
  if (!found) {
    throw new ReprodError('CONFIG_INVALID', 'no Debian mirror in the apt sources of this machine: set rebuilders.debian.archive.mirror and suites');
  }
  return { uri: found.uri, suites: found.suites.filter((x) => !x.includes('security')) };
}
