/**
 * The .debs a Debian document names (a .buildinfo, an archive request), read
 * without verifying anything: the daemon splits jobs by subject before intake,
 * as it does for attestations. Intake verifies them later.
 */
import { ReprodError } from '../../errors.ts';
import { fieldLines, parseDeb822, splitClearsigned } from './deb822.ts';
import { debianDocumentKind } from './kind.ts';

/** Subjects of a Debian document, or undefined when the bytes are not one. */
export function debianSubjects(bytes: Uint8Array): Array<{ name: string; sha256: string }> | undefined {
  if (!debianDocumentKind(bytes)) return undefined;
  const [p] = parseDeb822(splitClearsigned(Buffer.from(bytes).toString('utf8')).body);
  const out = new Map<string, { name: string; sha256: string }>();
  for (const line of p ? fieldLines(p, 'Checksums-Sha256') : []) {
    const [sha256, , name] = line.split(/\s+/);
    if (!sha256 || !name || !/^[0-9a-f]{64}$/.test(sha256) || !/\.u?deb$/.test(name)) continue;
    if (!out.has(sha256)) out.set(sha256, { name, sha256 });
  }
  if (out.size === 0) throw new ReprodError('ATTESTATION_MALFORMED', 'the Debian document lists no .deb in Checksums-Sha256 (a request submitted to the daemon must name its .debs; `reprod rebuild debian:…` needs none)');
  return [...out.values()];
}
