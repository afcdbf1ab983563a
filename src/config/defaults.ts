/** Named defaults. Every default a user can override lives here, once. */

/** Where jobs, caches and outputs live unless `dataDir` says otherwise. */
export const DEFAULT_DATA_DIR = '.reprod';
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
/** Network of the fetch phase. `host` lets a container reach loopback test servers. */
export const DEFAULT_FETCH_NETWORK = 'bridge';
export const DEFAULT_BUILD_TIMEOUT_SECONDS = 1800;
export const DEFAULT_FETCH_TIMEOUT_SECONDS = 900;
export const DEFAULT_MEMORY_MB = 4096;
export const DEFAULT_PIDS_LIMIT = 1024;
export const DEFAULT_CPUS = 2;
export const DEFAULT_LOG_BYTES = 50 * 1024 * 1024;
export const DEFAULT_OUTPUT_BYTES = 2 * 1024 * 1024 * 1024;
/** What a source clone may download, and the size of the files it checks out. */
export const DEFAULT_SOURCE_BYTES = 4 * 1024 * 1024 * 1024;
/** Disk a build may write (its build path and the container's own file system). */
export const DEFAULT_SCRATCH_BYTES = 10 * 1024 * 1024 * 1024;
/** The fixed path inside the container where the source is copied and built. */
export const DEFAULT_BUILD_PATH = '/build/src';
export const DEFAULT_HOSTNAME = 'reprod-builder';
export const DEFAULT_BUILDER_IMAGE = 'bookworm-build';
export const CONTAINER_LABEL = 'dev.reprod.job';
