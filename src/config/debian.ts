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
  /** Debian release the builder image is made from (mmdebstrap suite). Default: the machine's own (VERSION_CODENAME). */
  release: z.string().regex(/^[a-z][a-z0-9-]*$/).optional(),
  /**
   * A snapshot of the archive (e.g. a URL of Debian's snapshot service at the build date) the
   * builder image's packages come from, when the buildinfo's versions are older than the
   * mirror's. Default: the machine's own apt mirrors.
   */
  snapshotMirror: z.url().optional(),
  /** The clock of the build phase: the machine's, or libfaketime starting at SOURCE_DATE_EPOCH or the buildinfo's Build-Date. */
  clock: z.enum(['real', 'source-date-epoch', 'build-date']).default('real'),
  /**
   * OpenPGP keyrings the source package's .dsc must be signed by (e.g. Debian's
   * debian-keyring of maintainers). Empty: the signed Sources index alone pins the source.
   */
  sourceKeyrings: z.array(z.string().min(1)).default([]),
  /** When the recorded build dependency versions cannot be installed, build with the suite's (the verdict names the drift). */
  allowDrift: z.boolean().default(false),
});

export type DebianArchiveConfig = z.infer<typeof debianArchiveSchema>;
export type DebianRebuilderConfig = z.infer<typeof debianRebuilderSchema>;
