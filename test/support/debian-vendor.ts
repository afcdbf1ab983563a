/**
 * "The vendor" of the Debian rebuild tests: builds fixtures/debian/reprod-hello
 * once, in a real container (the bookworm-build image), the way a Debian buildd
 * does: `dpkg-source -b`, then `dpkg-buildpackage -b` in /build/reproducible-path,
 * with the clock faked to VENDOR_DATE (the host's libfaketime, mounted read-only)
 * so the build-date leak of reprod-hello-stamp differs from today's date. The
 * outputs (.dsc, .tar.xz, two .debs, .buildinfo) are cached on disk by the
 * fixture's content and the image id: one vendor build serves every test run.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { executePlan } from '../../src/build/executor.ts';
import { silentLogger } from '../../src/log/logger.ts';
import type { BuildPlan } from '../../src/plan/types.ts';
import { builderImageId, TEST_LIMITS } from './docker.ts';

export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/debian/reprod-hello/', import.meta.url));
export const SOURCE = 'reprod-hello';
export const VERSION = '1.0';
/** The vendor's (faked) clock at the start of its build. */
export const VENDOR_DATE = '2024-03-05 12:00:00';
export const BUILD_PATH = '/build/reproducible-path';

const FAKETIME_DIRS = ['/usr/lib/x86_64-linux-gnu/faketime', '/usr/lib/aarch64-linux-gnu/faketime', '/usr/lib/faketime'];

export interface VendorBuild {
  dir: string;
  arch: string;
  dsc: string;
  tarball: string;
  /** The arch-specific .deb (a C program) and the arch:all one (holds the build date). */
  debs: { program: string; stamp: string };
  buildinfo: string;
}

async function treeHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else h.update(`${relative(dir, p)}\0`).update(await readFile(p)).update('\0');
    }
  };
  await walk(dir);
  return h.digest('hex');
}

let once: Promise<VendorBuild> | undefined;

export function vendorBuild(docker: Docker): Promise<VendorBuild> {
  once ??= build(docker);
  return once;
}

async function build(docker: Docker): Promise<VendorBuild> {
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const imageId = await builderImageId();
  const key = createHash('sha256').update(`v2|${await treeHash(FIXTURE_DIR)}|${imageId}|${VENDOR_DATE}|${arch}`).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `reprod-debian-vendor-${key}`);
  const names: Omit<VendorBuild, 'dir' | 'arch'> = {
    dsc: `${SOURCE}_${VERSION}.dsc`,
    tarball: `${SOURCE}_${VERSION}.tar.xz`,
    debs: { program: `${SOURCE}_${VERSION}_${arch}.deb`, stamp: `${SOURCE}-stamp_${VERSION}_all.deb` },
    buildinfo: `${SOURCE}_${VERSION}_${arch}.buildinfo`,
  };
  if (existsSync(join(dir, '.complete'))) return { dir, arch, ...names };

  const faketime = FAKETIME_DIRS.find((d) => existsSync(join(d, 'libfaketime.so.1')));
  if (!faketime) throw new Error('libfaketime is not installed on this host (apt-get install faketime; `reprod setup --test-tools`)');
  const work = await mkdtemp(join(tmpdir(), 'reprod-debian-vendor-work-'));
  try {
    const src = join(work, 'src');
    await cp(FIXTURE_DIR, join(src, `${SOURCE}-${VERSION}`), { recursive: true });
    const outputs = [names.dsc, names.tarball, names.debs.program, names.debs.stamp, names.buildinfo];
    const plan: BuildPlan = {
      planVersion: 1,
      rebuilder: 'container',
      source: { repo: 'fixtures/debian/reprod-hello', commit: '0'.repeat(40) },
      image: { ref: 'bookworm-build', digest: imageId },
      workdir: BUILD_PATH,
      hostname: 'vendor-buildd',
      env: {
        LC_ALL: 'C.UTF-8',
        TZ: 'UTC',
        DEB_BUILD_OPTIONS: 'parallel=1',
        LD_PRELOAD: '/opt/faketime/libfaketime.so.1',
        FAKETIME: `@${VENDOR_DATE}`,
        // Only the clock is faked, not the file times stat() reports (as a buildd with a real 2024 clock).
        NO_FAKE_STAT: '1',
      },
      fetch: [],
      pinned: [],
      build: [
        { name: 'dpkg-source -b', run: ['dpkg-source', '-b', `${SOURCE}-${VERSION}`] },
        { name: 'dpkg-buildpackage -b', run: ['sh', '-c', `cd ${SOURCE}-${VERSION} && dpkg-buildpackage -b --no-sign`] },
      ],
      outputs: outputs.map((name) => ({ name, path: name })),
      limits: { ...TEST_LIMITS, timeoutSeconds: 600 },
    };
    const jobDir = join(work, 'job');
    const result = await executePlan(docker, plan, {
      jobId: `debian-vendor-${key}`,
      sourceDir: src,
      jobDir,
      fetchNetwork: 'none',
      logger: silentLogger,
      readOnlyMounts: [{ source: faketime, target: '/opt/faketime' }],
    });
    const staging = `${dir}.${process.pid}`;
    await mkdir(staging, { recursive: true });
    for (const o of result.outputs) await cp(o.path, join(staging, o.name));
    await cp(result.logPath, join(staging, 'vendor-build.log'));
    await writeFile(join(staging, '.complete'), '');
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    return { dir, arch, ...names };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
