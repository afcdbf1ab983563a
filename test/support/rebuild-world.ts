import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateFixtures, type FixtureCase, type GeneratedFixtures } from '../../fixtures/generate.ts';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { createRebuildContext, type RebuildContext } from '../../src/pipeline/context.ts';
import { generateKeyFiles } from '../../src/publish/index.ts';
import { resolveImage } from '../../src/build/images.ts';
import { intakeAttestation, loadTrustMaterial } from '../../src/attest/index.ts';
import { builderImageId, testDocker } from './docker.ts';

/**
 * A whole rebuild world for end-to-end tests: fixture repositories and signed
 * upstream attestations, a reprod signing key, and a pipeline context that
 * trusts the fixture key and allows file:// sources. Real Docker, real git.
 */
export interface RebuildWorld {
  dir: string;
  fixtures: GeneratedFixtures;
  ctx: RebuildContext;
  outDir: string;
  reprodKey: { keyId: string; privatePath: string; publicPath: string };
  configFile: string;
  caseNamed(name: string): FixtureCase;
  cleanup(): Promise<void>;
}

export async function rebuildWorld(only: string[]): Promise<RebuildWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-pipeline-'));
  const docker = await testDocker();
  const imageId = await builderImageId();
  const fixtures = await generateFixtures({ root: join(dir, 'fixtures'), docker, imageId, only });
  const reprodKey = await generateKeyFiles(join(dir, 'keys', 'reprod'));
  const outDir = join(dir, 'out');
  const raw = {
    dataDir: join(dir, 'data'),
    docker: { fetchNetwork: 'host' },
    trust: { keys: [{ id: fixtures.key.keyId, path: fixtures.key.publicPath }], allowFileSources: true, sourceHosts: [] },
    signing: { key: reprodKey.privatePath },
    rebuilders: { npm: { registryMetadata: false } },
  };
  const config = parseConfig(raw);
  const configFile = join(dir, 'reprod.yaml');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(configFile, JSON.stringify(raw));
  const trust = await loadTrustMaterial(config.trust, dir, { extraKeys: [] });
  const ctx = await createRebuildContext({
    loaded: { config, baseDir: dir },
    docker,
    intake: (bytes, uri) => intakeAttestation(bytes, trust, uri === undefined ? {} : { uri }),
    resolveImage: (name) => resolveImage(docker, name),
    logger: silentLogger,
    outDir,
  });
  return {
    dir,
    fixtures,
    ctx,
    outDir,
    reprodKey,
    configFile,
    caseNamed: (name) => {
      const c = fixtures.cases.find((x) => x.name === name);
      if (!c) throw new Error(`no fixture case ${name}`);
      return c;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
