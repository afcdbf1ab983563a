import { ReprodError } from '../errors.ts';

/**
 * Which repositories a rebuild may clone (DESIGN.md section 9): `https` to the
 * hosts the trust policy lists; `file://` only when the policy allows it (tests,
 * local mirrors). Everything else — ssh, git://, http, `ext::` helpers,
 * scp-like `user@host:path`, bare local paths — is SOURCE_NOT_ALLOWED.
 */
export interface SourcePolicy {
  /** Host names (optionally `host:port`) that https sources may come from. */
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

/** The value of GIT_ALLOW_PROTOCOL: git itself refuses every other transport too. */
export function allowedGitProtocols(policy: SourcePolicy): string {
  return policy.allowFileSources ? 'https:file' : 'https';
}
