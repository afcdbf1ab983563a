import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, initializeTSA, rekorHandler, tsaHandler, type HandlerFn } from '@sigstore/mock';

/**
 * Real Fulcio / Rekor / TSA stand-ins from @sigstore/mock, served over HTTP on
 * 127.0.0.1 (random ports), plus the trusted_root.json that verifies what they
 * issue. Nothing leaves the machine.
 */
export interface SigstoreMock {
  fulcioUrl: string;
  rekorUrl: string;
  tsaUrl: string;
  /** Sigstore TrustedRoot JSON for these services. */
  trustedRoot: Record<string, unknown>;
  /** Number of requests each service answered. */
  hits: { fulcio: number; rekor: number; tsa: number };
  close(): Promise<void>;
}

function p256() {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

async function serve(routes: Record<string, HandlerFn>, onHit: () => void): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const fn = req.method === 'POST' ? routes[req.url ?? ''] : undefined;
      if (!fn) {
        res.writeHead(404).end();
        return;
      }
      onHit();
      fn(Buffer.concat(chunks).toString('utf8')).then(
        ({ statusCode, response, contentType }) => {
          res.writeHead(statusCode, { 'content-type': contentType ?? 'text/plain' });
          res.end(typeof response === 'string' ? response : Buffer.from(response.buffer, response.byteOffset, response.byteLength));
        },
        (e: Error) => res.writeHead(500).end(e.message),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server };
}

const b64 = (b: ArrayBufferView | Buffer): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

export async function startSigstoreMock(): Promise<SigstoreMock> {
  const hits = { fulcio: 0, rekor: 0, tsa: 0 };
  // One clock on whole seconds for every service: sigstore-js parses RFC 3161
  // times with exactly three fraction digits, while the mock TSA's encoding
  // trims trailing zeros (".12Z"), so some milliseconds fail to parse. Shared
  // so that the certificate is valid at the timestamps. The mock's root certificates
  // start at their creation (X.509 keeps whole seconds), and creating them can take
  // over a second on a loaded machine, so the clock is set only once they all exist:
  // to the next whole second, after waiting for it. The services read it lazily.
  const clock = new Date(0);
  const ctlog = await initializeCTLog(p256(), clock);
  const ca = await initializeCA(p256(), ctlog, clock);
  const tsa = await initializeTSA(p256(), clock);
  // Rekor's handler needs its own URL in the log entries; serve first, then initialise.
  let rekorFn: HandlerFn = async () => ({ statusCode: 503, response: 'starting' });
  const rekor = await serve({ '/api/v1/log/entries': (b) => rekorFn(b) }, () => hits.rekor++);
  const tlog = await initializeTLog(rekor.url, p256(), clock);
  rekorFn = rekorHandler(tlog).fn;
  const fh = fulcioHandler(ca);
  const fulcio = await serve({ [fh.path]: fh.fn }, () => hits.fulcio++);
  const th = tsaHandler(tsa);
  const ts = await serve({ [th.path]: th.fn }, () => hits.tsa++);
  const tick = Math.ceil((Date.now() + 1) / 1000) * 1000;
  await new Promise((r) => setTimeout(r, tick - Date.now()));
  clock.setTime(tick);

  const start = new Date(Date.now() - 60_000).toISOString();
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: rekor.url,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: b64(tlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
        logId: { keyId: createHash('sha256').update(tlog.publicKey).digest('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: fulcio.url,
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start },
      },
    ],
    ctlogs: [
      {
        baseUrl: 'https://ctfe.invalid',
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: b64(ctlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
        logId: { keyId: b64(ctlog.logID) },
      },
    ],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: ts.url,
        certChain: { certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }] },
        validFor: { start },
      },
    ],
  };
  const servers = [rekor.server, fulcio.server, ts.server];
  return {
    fulcioUrl: fulcio.url,
    rekorUrl: rekor.url,
    tsaUrl: ts.url,
    trustedRoot,
    hits,
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/** An unsigned OIDC-shaped token (the mock CA does not check signatures). */
export function fakeOidcToken(claims: { iss: string; sub: string }): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ aud: 'sigstore', iat: now, exp: now + 600, ...claims })}.`;
}
