import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.ts';
import { loadConfig } from '../../src/config/load.ts';

const EXAMPLE = fileURLToPath(new URL('../../config.example.yaml', import.meta.url));

/** Every object key the schema accepts, as dotted paths (arrays and unions walked through). */
function keyPaths(schema: z.ZodType, prefix: string, out: Set<string>): void {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  switch (def.type) {
    case 'object':
      for (const [k, v] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        const p = prefix ? `${prefix}.${k}` : k;
        out.add(p);
        keyPaths(v, p, out);
      }
      return;
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
      return keyPaths(def.innerType as z.ZodType, prefix, out);
    case 'pipe':
      return keyPaths(def.in as z.ZodType, prefix, out);
    case 'array':
      return keyPaths(def.element as z.ZodType, prefix, out);
    case 'union':
      for (const o of def.options as z.ZodType[]) keyPaths(o, prefix, out);
      return;
    default:
      return;
  }
}

test('config.example.yaml is a valid config', async () => {
  const loaded = await loadConfig(EXAMPLE);
  assert.equal(loaded.config.docker.fetchNetwork, 'bridge');
  assert.equal(loaded.config.trust.allowFileSources, false);
});

test('config.example.yaml documents every key the schema accepts', () => {
  const text = readFileSync(EXAMPLE, 'utf8');
  const paths = new Set<string>();
  keyPaths(configSchema, '', paths);
  assert.ok(paths.size > 40, `walked ${paths.size} keys`);
  const missing = [...paths].filter((p) => {
    const leaf = p.split('.').pop()!;
    return !new RegExp(`(^|[\\s{,#-])${leaf}:`, 'm').test(text);
  });
  assert.deepEqual(missing, [], 'keys missing from config.example.yaml');
});
