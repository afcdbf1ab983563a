/**
 * Docker helpers for tests (real engine, no mocks):
 * - `testDocker()`: a connected client (DOCKER_UNAVAILABLE if no engine; run `reprod setup`).
 * - `builderImageId()`: the id of the `bookworm-build` builder image, built once if missing.
 * - `testPlan(overrides)`: a small BuildPlan on that image with test-sized limits.
 * - `labelledContainers(jobId)`: containers still carrying a job's label.
 */
import type Docker from 'dockerode';
import { CONTAINER_LABEL, DEFAULT_BUILDER_IMAGE, DEFAULT_BUILD_PATH, DEFAULT_HOSTNAME } from '../../src/config/defaults.ts';
import { connectDocker } from '../../src/build/docker.ts';
import { resolveImage } from '../../src/build/images.ts';
import type { BuildPlan } from '../../src/plan/types.ts';

let docker: Promise<Docker> | undefined;
let image: Promise<string> | undefined;

export function testDocker(): Promise<Docker> {
  docker ??= connectDocker();
  return docker;
}

export function builderImageId(): Promise<string> {
  image ??= testDocker().then((d) =>
    resolveImage(d, DEFAULT_BUILDER_IMAGE, {
      onProgress: (step, detail) => process.stderr.write(`# builder image: ${step} ${detail ?? ''}\n`),
    }),
  );
  return image;
}

export const TEST_LIMITS: BuildPlan['limits'] = {
  timeoutSeconds: 120,
  fetchTimeoutSeconds: 60,
  memoryBytes: 512 * 1024 * 1024,
  pids: 256,
  cpus: 1,
  logBytes: 1024 * 1024,
  outputBytes: 64 * 1024 * 1024,
};

export type TestPlanOverrides = Omit<Partial<BuildPlan>, 'limits'> & { limits?: Partial<BuildPlan['limits']> };

/** A plan that runs `build` steps (default: one that writes out.txt) in the builder image. */
export async function testPlan(overrides: TestPlanOverrides = {}): Promise<BuildPlan> {
  const imageId = overrides.image?.digest ?? (await builderImageId());
  return {
    planVersion: 1,
    rebuilder: 'test',
    source: { repo: 'file:///test', commit: '0'.repeat(40) },
    image: { ref: DEFAULT_BUILDER_IMAGE, digest: imageId },
    workdir: DEFAULT_BUILD_PATH,
    hostname: DEFAULT_HOSTNAME,
    env: { SOURCE_DATE_EPOCH: '1700000000', TZ: 'UTC', LC_ALL: 'C.UTF-8' },
    fetch: [],
    pinned: [],
    build: [{ name: 'write', run: ['sh', '-c', 'echo hello > out.txt'] }],
    outputs: [{ name: 'out.txt', path: 'out.txt' }],
    ...overrides,
    limits: { ...TEST_LIMITS, ...overrides.limits },
  };
}

export async function labelledContainers(d: Docker, jobId: string): Promise<Docker.ContainerInfo[]> {
  return d.listContainers({ all: true, filters: { label: [`${CONTAINER_LABEL}=${jobId}`] } });
}
