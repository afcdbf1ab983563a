/** Index files as served: .xz (xz-utils, as apt does), .gz (zlib) or plain. */
import { spawn } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { ReprodError } from '../../errors.ts';

/** Decompressed index text. */
export const MAX_INDEX_TEXT_BYTES = 512 * 1024 * 1024;

export async function decompress(bytes: Buffer, path: string): Promise<Buffer> {
  try {
    if (path.endsWith('.gz')) return gunzipSync(bytes, { maxOutputLength: MAX_INDEX_TEXT_BYTES });
    if (path.endsWith('.xz')) return await unxz(bytes);
    return bytes;
  } catch (e) {
    if (e instanceof ReprodError) throw e;
    throw new ReprodError('INDEX_INVALID', `${path} does not decompress: ${(e as Error).message}`, { cause: e });
  }
}

function unxz(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('xz', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let n = 0;
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_INDEX_TEXT_BYTES) {
        child.kill();
        reject(new ReprodError('INDEX_INVALID', `index text is over ${MAX_INDEX_TEXT_BYTES} bytes`));
      } else chunks.push(c);
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (e) => reject(new ReprodError('SETUP_FAILED', 'cannot run xz (install xz-utils)', { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(chunks));
      else reject(new ReprodError('INDEX_INVALID', `xz: ${stderr.trim() || `exit ${code}`}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(bytes);
  });
}
