import type { Command } from 'commander';
import { AuditLog } from '../publish/audit.ts';
import { evaluate, readAttestations, sha256File, type ConsumerResult } from '../publish/consumer.ts';
import { loadConsumerPolicy } from '../publish/policy.ts';
import type { RegisterCommand } from './commands.ts';
import { EXIT_NEGATIVE, EXIT_OK } from './program.ts';

const DIGEST_ARG = /^sha256:([0-9a-f]{64})$/;

/** The human table: who agreed, who did not, what was ignored and why. */
export function formatResult(r: ConsumerResult): string {
  const rows = r.rebuilders.map((b) => [
    b.name,
    b.signer,
    b.status === 'missing' ? 'no attestation' : b.status,
    b.timeVerified ?? '',
    b.detail ?? '',
  ]);
  const head = ['REBUILDER', 'SIGNER', 'RESULT', 'VERIFIED', 'DETAIL'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [`artifact sha256:${r.artifact.sha256}${r.artifact.path ? `  (${r.artifact.path})` : ''}`, '', line(head), ...rows.map(line)];
  if (r.ignored.length > 0) {
    const counts = new Map<string, number>();
    for (const i of r.ignored) counts.set(i.reason, (counts.get(i.reason) ?? 0) + 1);
    out.push('', `ignored ${r.ignored.length} attestation(s): ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`);
    for (const i of r.ignored.filter((x) => x.reason === 'signature-invalid' || x.reason === 'malformed')) out.push(`  ${i.reason}: ${i.source}: ${i.detail}`);
  }
  out.push('', `${r.trusted ? 'TRUSTED' : 'NOT TRUSTED'}: ${r.agreed} of ${r.rebuilders.length} rebuilders reproduced it (threshold ${r.threshold})`);
  return `${out.join('\n')}\n`;
}

export const register: RegisterCommand = (program: Command) => {
  program
    .command('verify')
    .description(
      'Decide whether an artifact is trusted: at least k of the rebuilders named in your policy must have signed ' +
        'a VSA (verificationResult PASSED, level SLSA_BUILD_REPRODUCED) for its exact sha256. Signatures are checked ' +
        "offline against each rebuilder's public key or Fulcio identity+issuer. A rebuilder counts once; its latest " +
        'verdict stands. Tampered attestations, other digests and signers not in the policy do not count.\n' +
        'Exit codes: 0 trusted, 1 not trusted, 2 error.',
    )
    .argument('<artifact>', 'the artifact file, or its digest as sha256:<64 hex>')
    .requiredOption('--attestations <paths...>', 'attestation files (bundle .json, .jsonl) or folders (searched recursively, e.g. a directory sink)')
    .requiredOption('--policy <file>', 'YAML policy: threshold, rebuilders [{name, key} | {name, identity, issuer}], trustedRoot?')
    .option('--json', 'print the result as JSON instead of a table', false)
    .option('--audit-log <file>', 'append this decision to a hash-chained audit log')
    .addHelpText(
      'after',
      '\nPolicy example (paths relative to the policy file):\n' +
        '  threshold: 2\n' +
        '  rebuilders:\n' +
        '    - { name: alice, key: keys/alice.pub }\n' +
        '    - { name: bob,   key: keys/bob.pub }\n' +
        '    - { name: ci,    identity: https://ci.example.org/rebuild, issuer: https://issuer.example.org }\n' +
        '  trustedRoot: trusted_root.json   # needed for identity rebuilders\n' +
        '\nExample (the artifact goes first: --attestations takes every path after it):\n' +
        '  reprod verify dist/hello-1.0.0.tgz --attestations ./attestations extra.jsonl --policy policy.yaml\n',
    )
    .action(async (artifact: string, opts: { attestations: string[]; policy: string; json: boolean; auditLog?: string }) => {
      const policy = await loadConsumerPolicy(opts.policy);
      const m = DIGEST_ARG.exec(artifact);
      const sha256 = m ? m[1]! : await sha256File(artifact);
      const { attestations, tooLarge } = await readAttestations(opts.attestations);
      const result = evaluate(sha256, attestations, policy, tooLarge);
      if (!m) result.artifact.path = artifact;
      if (opts.auditLog !== undefined) {
        const log = await AuditLog.open(opts.auditLog);
        try {
          await log.append({
            type: 'consumer-verify',
            subject: sha256,
            outcome: result.trusted ? 'trusted' : 'not-trusted',
            details: { agreed: result.rebuilders.filter((r) => r.status === 'reproduced').map((r) => r.name), threshold: result.threshold },
          });
        } finally {
          await log.close();
        }
      }
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatResult(result));
      if (attestations.length === 0 && tooLarge.length === 0 && !opts.json) {
        process.stderr.write('note: no attestations found at the given paths\n');
      }
      process.exitCode = result.trusted ? EXIT_OK : EXIT_NEGATIVE;
    });
};

