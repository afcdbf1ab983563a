import { looksLikeBuildinfo } from './buildinfo.ts';
import { looksLikeDebianRequest } from './request.ts';

export type DebianDocument = 'request' | 'buildinfo';

/** Which Debian document the bytes are, from their content; undefined when none. */
export function debianDocumentKind(bytes: Uint8Array): DebianDocument | undefined {
  if (looksLikeDebianRequest(bytes)) return 'request';
  if (looksLikeBuildinfo(bytes)) return 'buildinfo';
  return undefined;
}
