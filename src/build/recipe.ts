/**
 * Builder image recipes: rebuilders/images/<name>.yaml (Debian release, variant,
 * packages, SOURCE_DATE_EPOCH, image env). `loadRecipe(name)` validates one and
 * gives it a content hash, which names the image tag (`reprod/<name>:<hash>`) so an
 * unchanged recipe reuses the image already built.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { ReprodError } from '../errors.ts';

/** Bump when the way an image is made changes (archive layout, hooks): old tags stop matching. */
export const IMAGE_FORMAT_VERSION = 2;
export const RECIPES_DIR = fileURLToPath(new URL('../../rebuilders/images/', import.meta.url));
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const PACKAGE = /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?$/;

export const recipeSchema = z.strictObject({
  release: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a Debian suite name such as bookworm'),
  variant: z.enum(['extract', 'custom', 'essential', 'apt', 'minbase', 'buildd', 'required', 'important', 'standard']).default('apt'),
  packages: z.array(z.string().regex(PACKAGE, 'a Debian package name')).default([]),
  sourceDateEpoch: z.number().int().nonnegative(),
  /** dpkg `path-exclude` globs: files never unpacked (docs, manuals), to keep the image small. */
  dpkgExclude: z.array(z.string().regex(/^\/[^\s]*$/, 'an absolute path glob')).default([]),
  /** dpkg `path-include` globs that win over dpkgExclude (e.g. copyright files). */
  dpkgInclude: z.array(z.string().regex(/^\/[^\s]*$/, 'an absolute path glob')).default([]),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
});

export interface Recipe extends z.infer<typeof recipeSchema> {
  name: string;
  /** sha256 (hex) over the validated recipe and IMAGE_FORMAT_VERSION. */
  hash: string;
}

export function recipeHash(recipe: z.infer<typeof recipeSchema>): string {
  const canonical = JSON.stringify({ v: IMAGE_FORMAT_VERSION, ...recipe, packages: [...recipe.packages].sort(), env: Object.fromEntries(Object.entries(recipe.env).sort()) });
  return createHash('sha256').update(canonical).digest('hex');
}

/** The tag an image built from this recipe carries. */
export function recipeTag(recipe: Recipe): string {
  return `reprod/${recipe.name}:${recipe.hash.slice(0, 16)}`;
}

export function parseRecipe(name: string, text: string, source = `${name}.yaml`): Recipe {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new ReprodError('IMAGE_RECIPE_INVALID', `${source}: not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  const r = recipeSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ReprodError('IMAGE_RECIPE_INVALID', `${source}: ${issue.path.join('.') || '(top)'}: ${issue.message}`, { details: { path: issue.path } });
  }
  return { name, ...r.data, hash: recipeHash(r.data) };
}

export async function loadRecipe(name: string, dir = RECIPES_DIR): Promise<Recipe> {
  if (!NAME.test(name)) throw new ReprodError('IMAGE_RECIPE_INVALID', `bad recipe name ${JSON.stringify(name)}`);
  const file = `${dir}${dir.endsWith('/') ? '' : '/'}${name}.yaml`;
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new ReprodError('IMAGE_NOT_FOUND', `no image recipe ${JSON.stringify(name)} (looked for rebuilders/images/${name}.yaml)`, { details: { name } });
    throw e;
  });
  return parseRecipe(name, text, `rebuilders/images/${name}.yaml`);
}
