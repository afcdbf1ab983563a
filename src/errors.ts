/**
 * The one error type of reprod. Every failure a user, the API or a test can see
 * carries a stable `code` from the union below; messages may change, codes do not.
 * Add a code here (with its hint) rather than creating another error class.
 */
export type ErrorCode =
  // usage and configuration
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  // environment and set-up
  | 'DOCKER_UNAVAILABLE'
  | 'SETUP_FAILED'
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_BUILD_FAILED'
  | 'IMAGE_RECIPE_INVALID'
  // hermetic build
  | 'BUILD_FAILED'
  | 'BUILD_TIMEOUT'
  | 'BUILD_OOM'
  | 'BUILD_CANCELLED'
  | 'BUILD_LOG_LIMIT'
  | 'BUILD_SCRATCH_LIMIT'
  | 'FETCH_FAILED'
  | 'OUTPUT_MISSING'
  | 'OUTPUT_PATH_ESCAPE'
  | 'OUTPUT_TOO_LARGE'
  | 'PLAN_INVALID'
  // intake and verification
  | 'ATTESTATION_MALFORMED'
  | 'ATTESTATION_TOO_LARGE'
  | 'UNSUPPORTED_FORMAT'
  | 'UNSUPPORTED_PREDICATE'
  | 'SIGNATURE_INVALID'
  | 'UNTRUSTED_SIGNER'
  | 'POLICY_DENIED'
  | 'SUBJECT_MISMATCH'
  | 'TRUSTED_ROOT_INVALID'
  // planning and inputs
  | 'UNKNOWN_BUILD_TYPE'
  | 'SOURCE_NOT_ALLOWED'
  | 'SOURCE_FETCH_FAILED'
  | 'SOURCE_COMMIT_NOT_FOUND'
  | 'SOURCE_TOO_LARGE'
  | 'INPUT_DIGEST_MISMATCH'
  // Debian archive (InRelease -> Packages/Sources -> .deb/.dsc)
  | 'INDEX_SIGNATURE_INVALID'
  | 'INDEX_HASH_MISMATCH'
  | 'INDEX_EXPIRED'
  | 'INDEX_INVALID'
  | 'PACKAGE_NOT_FOUND'
  // signing and publishing
  | 'KEY_INVALID'
  | 'KEY_PERMISSIONS'
  | 'SIGNING_FAILED'
  | 'PUBLISH_FAILED'
  | 'AUDIT_LOG_BROKEN'
  // compare and diff
  | 'ARCHIVE_LIMIT'
  | 'ARCHIVE_MALFORMED'
  | 'DIFF_FAILED'
  // daemon and store
  | 'STORE_ERROR'
  | 'LEASE_LOST'
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'PAYLOAD_TOO_LARGE'
  | 'BAD_REQUEST'
  | 'DAEMON_UNREACHABLE'
  | 'INTERNAL';

/** What the user can do about each code. Shown under the message in the CLI and API. */
export const HINTS: Partial<Record<ErrorCode, string>> = {
  DOCKER_UNAVAILABLE: 'start the Docker engine (`dockerd &`) or set docker.socket in the config; `reprod setup` does both',
  IMAGE_NOT_FOUND: 'build the builder image with `reprod images build NAME`',
  BUILD_TIMEOUT: 'raise limits.timeoutSeconds if the build is legitimately slow',
  BUILD_OOM: 'raise limits.memoryMb if the build legitimately needs more memory',
  BUILD_SCRATCH_LIMIT: 'the build wrote more to disk than limits.scratchBytes and was stopped; raise it if the build legitimately needs the space',
  BUILD_LOG_LIMIT: 'the build printed more log than limits.logBytes and was stopped; raise it if the build is legitimately verbose',
  INPUT_DIGEST_MISMATCH: 'a fetched input differs from the digest the plan pins: the upstream changed it, or the fetch was tampered with',
  OUTPUT_PATH_ESCAPE: 'the build produced an output whose path leaves the output directory; it was refused',
  CONFIG_INVALID: 'fix the key named above; config.example.yaml documents every key',
  KEY_PERMISSIONS: 'chmod 600 the private key file',
  SOURCE_NOT_ALLOWED: 'add the host to trust.sourceHosts (or allow file:// sources) if you trust it',
  UNKNOWN_BUILD_TYPE: 'reprod rebuilds the buildTypes of rebuilders/ (container, npm); see docs/rebuild.md',
  SOURCE_COMMIT_NOT_FOUND: 'the repository does not have the commit the provenance names (force-pushed or private?)',
  SUBJECT_MISMATCH: 'the file beside the attestation is not the artifact it describes; fetch the published artifact again',
  UNTRUSTED_SIGNER: 'add the signer to trust.keys or trust.identities if you trust it',
  STORE_ERROR: 'check that the database is reachable (store.postgres.url or REPROD_POSTGRES_URL); workers retry outages by themselves',
  DAEMON_UNREACHABLE: 'start the daemon with `reprod daemon --config FILE`, or pass --url with the address it listens on',
  UNAUTHORIZED: 'send the API token as `Authorization: Bearer TOKEN` (daemon.api.token or REPROD_API_TOKEN)',
  INDEX_SIGNATURE_INVALID: 'the archive index is not signed by a key of the configured keyrings (rebuilders.debian.archive.keyrings); a wrong mirror, or a tampered one',
  INDEX_HASH_MISMATCH: 'an index file differs from the digest the signed Release names: the mirror is mid-sync (retry later) or tampered with',
  INDEX_EXPIRED: 'the signed Release is past its Valid-Until (a stale or replayed mirror); use an up-to-date mirror',
  PACKAGE_NOT_FOUND: 'the archive has no such source version now; old versions need a snapshot mirror',
  LEASE_LOST: 'another worker took this job after its lease expired; it is built and published there (raise daemon.leaseSeconds if the database or network is often unreachable for that long)',
};

export interface ReprodErrorOptions {
  cause?: unknown;
  /** The job this error belongs to, when there is one. */
  jobId?: string;
  /** Infrastructure failures that may succeed on a later attempt. */
  retryable?: boolean;
  /** Extra machine-readable facts (paths, limits, digests). */
  details?: Record<string, unknown>;
}

export class ReprodError extends Error {
  override readonly name = 'ReprodError';
  readonly code: ErrorCode;
  readonly jobId: string | undefined;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: ReprodErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.jobId = options.jobId;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }

  get hint(): string | undefined {
    return HINTS[this.code];
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.jobId ? { jobId: this.jobId } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export function isReprodError(e: unknown, code?: ErrorCode): e is ReprodError {
  return e instanceof ReprodError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a ReprodError, keeping coded errors as they are. */
export function toReprodError(e: unknown, fallback: ErrorCode = 'INTERNAL'): ReprodError {
  if (e instanceof ReprodError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ReprodError(fallback, message, { cause: e });
}
