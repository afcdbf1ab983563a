import { z } from 'zod';

/** Debian's archive keyring, as installed by the debian-archive-keyring package. */
export const DEFAULT_DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/**
 * `rebuilders.debian.archive`: the signed archive that claims by package name
 * (`debian:hello=2.10-3/amd64`) and the `debian-packages` feed read. The mirror
 * and suites default to the machine's own apt sources, read at run time.
 */
export const debianArchiveSchema = z.strictObject({
  /** Mirror base URL (the folder holding dists/ and pool/). Default: the machine's apt sources. */
  mirror: z.url().optional(),
  /** Suites searched in order (e.g. [bookworm, bookworm-updates]). Default: the suites of that apt source. */
  suites: z.array(z.string().regex(/^[A-Za-z0-9._-]+$/)).min(1).optional(),
  /** Component holding the packages. */
  component: z.string().regex(/^[A-Za-z0-9._-]+$/).default('main'),
  /** Keyrings InRelease must be signed by (binary or armoured). Relative paths resolve against the config file. */
  keyrings: z.array(z.string().min(1)).min(1).default([DEFAULT_DEBIAN_KEYRING]),
});

/** `rebuilders.debian`: settings of the debian rebuilder. */
export const debianRebuilderSchema = z.strictObject({
  archive: debianArchiveSchema.prefault({}),
});

export type DebianArchiveConfig = z.infer<typeof debianArchiveSchema>;
export type DebianRebuilderConfig = z.infer<typeof debianRebuilderSchema>;
