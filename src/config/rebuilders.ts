import { z } from 'zod';
import { DEFAULT_BUILDER_IMAGE } from './defaults.ts';
import { debianRebuilderSchema } from './debian.ts';

/**
 * `rebuilders:` section: settings of the ecosystem rebuilders. The `container`
 * rebuilder needs none (its provenance names the image by digest).
 */
export const npmRebuilderSchema = z.strictObject({
  /** Builder image (name or `sha256:` id) with node and npm; resolved to its id before planning. */
  image: z.string().min(1).default(DEFAULT_BUILDER_IMAGE),
  /** Look up `_npmVersion` / `_nodeVersion` of the package version in the registry (read-only GET). */
  registryMetadata: z.boolean().default(true),
  /** node and npm versions inside the image, if known: a difference from upstream becomes a note. */
  imageTools: z.strictObject({ node: z.string().optional(), npm: z.string().optional() }).optional(),
});

export const rebuildersSchema = z.strictObject({
  npm: npmRebuilderSchema.prefault({}),
  debian: debianRebuilderSchema.prefault({}),
});

export type RebuildersConfig = z.infer<typeof rebuildersSchema>;
