/**
 * A local Debian mini-archive for tests: dists/SUITE/{InRelease, Release,
 * main/binary-ARCH/Packages(.xz), main/source/Sources(.xz)} and pool/, signed
 * with a throw-away gpg key and served from memory on 127.0.0.1. `publish()`
 * regenerates the indices (a new version appearing); `put()` replaces one
 * served file afterwards (tampering).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestKey } from './gpg-key.ts';

export interface MiniBinary {
  package: string;
  version: string;
  architecture: string;
  /** `Source:` field as Debian writes it (`hello` or `hello (2.10-3)`); absent when named like the source. */
  source?: string;
  bytes: Buffer;
}

export interface MiniSource {
  name: string;
  version: string;
  /** The .dsc first, then the tarballs. */
  files: Array<{ name: string; bytes: Buffer }>;
}

export interface MiniArchiveOptions {
  key: TestKey;
  suite?: string;
  codename?: string;
  architectures?: string[];
  /** Release Date; default now. */
  date?: Date;
  validUntil?: Date;
  binaries?: MiniBinary[];
  sources?: MiniSource[];
}

export interface MiniArchive {
  url: string;
  suite: string;
  options: MiniArchiveOptions;
  /** Regenerates and re-signs every index from `options` (change them first). */
  publish(): Promise<void>;
  /** Serves `bytes` at `path` (below the archive root) from now on. */
  put(path: string, bytes: Buffer | string): void;
  get(path: string): Buffer | undefined;
  /** Paths requested so far. */
  requests: string[];
  close(): Promise<void>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const poolDir = (src: string) => `pool/main/${src.startsWith('lib') ? src.slice(0, 4) : src[0]}/${src}`;
const noEpoch = (v: string) => v.replace(/^\d+:/, '');
const rfc2822 = (d: Date) => d.toUTCString().replace('GMT', 'UTC');

export async function startMiniArchive(options: MiniArchiveOptions): Promise<MiniArchive> {
  const files = new Map<string, Buffer>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    requests.push(path);
    const body = files.get(path);
    if (!body) res.writeHead(404).end();
    else res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const archive: MiniArchive = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`,
    suite: options.suite ?? 'reprod-test',
    options,
    requests,
    put: (path, bytes) => files.set(`debian/${path}`, Buffer.from(bytes)),
    get: (path) => files.get(`debian/${path}`),
    publish: async () => {
      const o = archive.options;
      const suite = o.suite ?? 'reprod-test';
      const archs = o.architectures ?? ['amd64'];
      const index = new Map<string, Buffer>();
      for (const arch of archs) {
        const stanzas: string[] = [];
        for (const b of o.binaries ?? []) {
          if (b.architecture !== arch && b.architecture !== 'all') continue;
          const src = b.source ? b.source.split(' ')[0]! : b.package;
          const filename = `${poolDir(src)}/${b.package}_${noEpoch(b.version)}_${b.architecture}.deb`;
          archive.put(filename, b.bytes);
          stanzas.push(
            [`Package: ${b.package}`, ...(b.source ? [`Source: ${b.source}`] : []), `Version: ${b.version}`, `Architecture: ${b.architecture}`,
              `Filename: ${filename}`, `Size: ${b.bytes.length}`, `SHA256: ${sha256(b.bytes)}`, `Description: test package ${b.package}`].join('\n'),
          );
        }
        index.set(`main/binary-${arch}/Packages`, Buffer.from(stanzas.join('\n\n') + '\n'));
      }
      const srcStanzas = (o.sources ?? []).map((s) => {
        for (const f of s.files) archive.put(`${poolDir(s.name)}/${f.name}`, f.bytes);
        return [`Package: ${s.name}`, `Version: ${s.version}`, `Directory: ${poolDir(s.name)}`, 'Checksums-Sha256:',
          ...s.files.map((f) => ` ${sha256(f.bytes)} ${f.bytes.length} ${f.name}`)].join('\n');
      });
      index.set('main/source/Sources', Buffer.from(srcStanzas.join('\n\n') + '\n'));
      const lines: string[] = [];
      for (const [path, text] of index) {
        const xz = execFileSync('xz', ['-c', '-6'], { input: text });
        for (const [p, b] of [[path, text], [`${path}.xz`, xz]] as const) {
          archive.put(`dists/${suite}/${p}`, b);
          lines.push(` ${sha256(b)} ${b.length} ${p}`);
        }
      }
      const release = [
        'Origin: reprod-test', 'Label: reprod-test', `Suite: ${suite}`, `Codename: ${o.codename ?? suite}`,
        `Date: ${rfc2822(o.date ?? new Date())}`, ...(o.validUntil ? [`Valid-Until: ${rfc2822(o.validUntil)}`] : []),
        `Architectures: ${archs.join(' ')}`, 'Components: main', 'SHA256:', ...lines,
      ].join('\n') + '\n';
      archive.put(`dists/${suite}/Release`, release);
      archive.put(`dists/${suite}/InRelease`, await o.key.clearsign(release));
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  await archive.publish();
  return archive;
}
