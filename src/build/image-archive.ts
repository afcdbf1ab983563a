/**
 * Writes a `docker save`-format image archive (manifest.json + config + one layer)
 * byte for byte deterministically. `docker import` would stamp the current time
 * into the image config; here `created` is the recipe's SOURCE_DATE_EPOCH, so the
 * image id (sha256 of the config) depends only on the rootfs bytes and the recipe.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

export interface ImageSpec {
  /** Uncompressed rootfs tarball (the single layer). */
  rootfsTar: string;
  /** sha256 hex of rootfsTar (its diff_id); computed when absent. */
  rootfsSha256?: string;
  sourceDateEpoch: number;
  env: Record<string, string>;
  labels: Record<string, string>;
  repoTag: string;
  /** What made the layer, recorded in the image history. */
  createdBy: string;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), h);
  return h.digest('hex');
}

/** Docker/OCI architecture name of this machine. */
export function dockerArch(arch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[arch] ?? arch;
}

/** The image config JSON; its sha256 is the image id. Keys in a fixed order. */
export function imageConfig(spec: ImageSpec, diffId: string): string {
  const created = new Date(spec.sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z');
  const config = {
    architecture: dockerArch(),
    config: {
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Cmd: ['/bin/sh'],
      WorkingDir: '/',
      Labels: Object.fromEntries(Object.entries(spec.labels).sort()),
    },
    created,
    history: [{ created, created_by: spec.createdBy }],
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
  };
  return JSON.stringify(config);
}

export interface ImageArchive {
  /** `sha256:<hex>` — what the engine reports as the image id after `docker load`. */
  imageId: string;
  /** The archive bytes; read it once. */
  stream: Readable;
}

export async function imageArchive(spec: ImageSpec): Promise<ImageArchive> {
  const diffId = spec.rootfsSha256 ?? (await sha256File(spec.rootfsTar));
  const config = Buffer.from(imageConfig(spec, diffId));
  const configHex = createHash('sha256').update(config).digest('hex');
  const layerName = `${diffId}/layer.tar`;
  const manifest = Buffer.from(JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [spec.repoTag], Layers: [layerName] }]));
  const size = (await stat(spec.rootfsTar)).size;
  const mtime = new Date(spec.sourceDateEpoch * 1000);
  const head = { mtime, uid: 0, gid: 0, uname: '', gname: '' };
  const pack = tar.pack();
  // Entries are written in a fixed order; errors surface on the returned stream.
  void (async () => {
    try {
      pack.entry({ ...head, name: `${diffId}/`, type: 'directory', mode: 0o755 });
      pack.entry({ ...head, name: `${diffId}/VERSION`, mode: 0o644 }, '1.0');
      await pipeline(createReadStream(spec.rootfsTar, { highWaterMark: 1 << 20 }), pack.entry({ ...head, name: layerName, mode: 0o644, size }));
      pack.entry({ ...head, name: `${configHex}.json`, mode: 0o644 }, config);
      pack.entry({ ...head, name: 'manifest.json', mode: 0o644 }, manifest);
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
    }
  })();
  // tar-stream's Pack is a streamx Readable; node streams consume it as one.
  return { imageId: `sha256:${configHex}`, stream: pack as unknown as Readable };
}
