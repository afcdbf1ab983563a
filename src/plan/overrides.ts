import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseSection } from '../config/load.ts';
import { ReprodError } from '../errors.ts';
import type { Override } from './rebuilder.ts';

/**
 * Per-artifact overrides are data: `rebuilders/<rebuilder>/overrides/<key…>.yaml`
 * (npm: `<package name>/<version>.yaml`), each with a `why`. This is the I/O edge
 * that reads them; planning gets the parsed value.
 */
export const OVERRIDES_ROOT = fileURLToPath(new URL('../../rebuilders/', import.meta.url));

export const overrideSchema = z.strictObject({
  why: z.string().min(1),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
  command: z.array(z.string()).min(1).optional(),
  directory: z.string().min(1).optional(),
});

const SAFE_PART = /^@?[A-Za-z0-9][A-Za-z0-9._~-]*$/;

/** The override for one artifact, or undefined when there is none. */
export async function loadOverride(rebuilder: string, key: string[], root = OVERRIDES_ROOT): Promise<Override | undefined> {
  // Keys come from attestations: only plain names may become path parts.
  if (!SAFE_PART.test(rebuilder) || key.length === 0 || !key.every((k) => SAFE_PART.test(k))) return undefined;
  const path = `${join(root, rebuilder, 'overrides', ...key)}.yaml`;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ReprodError('CONFIG_INVALID', `cannot read override ${path}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ReprodError('CONFIG_INVALID', `${path}: not valid YAML`, { cause: e });
  }
  return parseSection(overrideSchema, raw, path) as Override;
}
