import { ReprodError } from '../errors.ts';

/**
 * Which repositories a rebuild may clone (DESIGN.md section 9): `https` to the
 * hosts the trust policy lists (an empty list means any public host name, but
 * never loopback, private or link-local addresses); `file://` only when the
 * policy allows it (tests, local mirrors). Everything else — ssh, git://, http,
 * `ext::` helpers, scp-like `user@host:path`, bare local paths — is
 * SOURCE_NOT_ALLOWED.
 */
export interface SourcePolicy {
  /** Host names (optionally `host:port`) that https sources may come from; empty: any public host. */
  sourceHosts: string[];
  allowFileSources: boolean;
}

export function checkSourceUrl(url: string, policy: SourcePolicy): URL {
  const refuse = (why: string) =>
    new ReprodError('SOURCE_NOT_ALLOWED', `source ${JSON.stringify(url)} is not allowed: ${why}`, { details: { url } });
  if (url.includes('::')) throw refuse('git remote helpers (`transport::address`) are never used');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse('not a URL (local paths and scp-like addresses are refused)');
  }
  if (parsed.username || parsed.password) throw refuse('URLs with credentials are refused');
  switch (parsed.protocol) {
    case 'https:': {
      const host = parsed.host.toLowerCase();
      const allowed = policy.sourceHosts.map((h) => h.toLowerCase());
      if (allowed.length === 0) {
        if (isInternalHost(parsed.hostname)) throw refuse(`host ${host} is an internal address (list it in trust.sourceHosts to allow it)`);
        return parsed;
      }
      if (!allowed.includes(host) && !allowed.includes(parsed.hostname.toLowerCase())) throw refuse(`host ${host} is not in trust.sourceHosts`);
      return parsed;
    }
    case 'file:':
      if (!policy.allowFileSources) throw refuse('file:// sources need trust.allowFileSources');
      return parsed;
    default:
      throw refuse(`protocol ${parsed.protocol.replace(/:$/, '')} is not allowed (only https, and file when enabled)`);
  }
}

/**
 * Loopback, private, link-local and unspecified addresses, and names that mean
 * this machine or a local network: never reached unless listed (no SSRF).
 */
export function isInternalHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local') || h.endsWith('.internal') || !h.includes('.') && !h.includes(':')) return true;
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
  }
  if (h.includes(':')) return h === '::' || h === '::1' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80') || h.startsWith('::ffff:');
  return false;
}

/** The value of GIT_ALLOW_PROTOCOL: git itself refuses every other transport too. */
export function allowedGitProtocols(policy: SourcePolicy): string {
  return policy.allowFileSources ? 'https:file' : 'https';
}
