import { z } from 'zod';
import * as d from './defaults.ts';
import { signingSchema } from './signing.ts';
import { trustSchema } from './trust.ts';
import { rebuildersSchema } from './rebuilders.ts';
import { daemonSchema, storeSchema } from './daemon.ts';

/**
 * The config file's shape. Each section is its own schema so that the part of
 * reprod that owns a section owns its schema; unknown keys are errors (a typo
 * must not silently fall back to a default).
 */
export const dockerSchema = z.strictObject({
  socket: z.string().default(d.DEFAULT_DOCKER_SOCKET),
  /** Network mode of the fetch phase: host (tests, CI), bridge (deployments) or none. */
  fetchNetwork: z.enum(['host', 'bridge', 'none']).default(d.DEFAULT_FETCH_NETWORK),
});

export const limitsSchema = z.strictObject({
  timeoutSeconds: z.number().int().positive().default(d.DEFAULT_BUILD_TIMEOUT_SECONDS),
  fetchTimeoutSeconds: z.number().int().positive().default(d.DEFAULT_FETCH_TIMEOUT_SECONDS),
  memoryMb: z.number().int().min(16).default(d.DEFAULT_MEMORY_MB),
  pids: z.number().int().min(16).default(d.DEFAULT_PIDS_LIMIT),
  cpus: z.number().positive().default(d.DEFAULT_CPUS),
  logBytes: z.number().int().positive().default(d.DEFAULT_LOG_BYTES),
  outputBytes: z.number().int().positive().default(d.DEFAULT_OUTPUT_BYTES),
  sourceBytes: z.number().int().positive().default(d.DEFAULT_SOURCE_BYTES),
  scratchBytes: z.number().int().positive().default(d.DEFAULT_SCRATCH_BYTES),
});

export const configSchema = z.strictObject({
  /** Jobs, caches and outputs. Relative paths resolve against the config file's folder. */
  dataDir: z.string().default(d.DEFAULT_DATA_DIR),
  docker: dockerSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  /** Sections owned by later parts of reprod; validated by their owners. */
  trust: trustSchema.prefault({}),
  signing: signingSchema.optional(),
  daemon: daemonSchema.prefault({}),
  store: storeSchema.prefault({}),
  rebuilders: rebuildersSchema.prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type Limits = z.infer<typeof limitsSchema>;
