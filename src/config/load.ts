import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ReprodError } from '../errors.ts';
import { configSchema, type Config } from './schema.ts';

export interface LoadedConfig {
  config: Config;
  /** Folder that relative paths in the config resolve against. */
  baseDir: string;
  /** The file it came from, if any. */
  path?: string;
}

/** Reads and validates a YAML config file. A missing `path` gives the defaults. */
export function loadConfig(path?: string): LoadedConfig {
  if (path === undefined) return { config: parseConfig({}), baseDir: process.cwd() };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ReprodError('CONFIG_NOT_FOUND', `cannot read config file ${path}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (e) {
    throw new ReprodError('CONFIG_INVALID', `${path}: not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  return { config: parseConfig(raw, path), baseDir: dirname(resolve(path)), path: resolve(path) };
}

/** Validates a config value; the error names the exact key that is wrong. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  return parseSection(configSchema, raw, source);
}

/** Validates one section with its owner's schema, reporting `source: a.b.c: problem`. */
export function parseSection<S extends z.ZodType>(schema: S, raw: unknown, source: string, prefix: string[] = []): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = [...prefix, ...issue.path.map(String)].join('.') || '(top level)';
    return `${key}: ${issue.message}`;
  });
  throw new ReprodError('CONFIG_INVALID', `${source}: ${problems.join('; ')}`, {
    details: { problems },
  });
}

/** Resolves a path from the config against the config's folder. */
export function configPath(loaded: LoadedConfig, p: string): string {
  return resolve(loaded.baseDir, p);
}
