/** Pure parts of the daemon: backoff, regression rule, dashboard grouping and rate series, status text. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStatus } from '../../src/daemon/status-text.ts';
import { retryDelayMs } from '../../src/daemon/backoff.ts';
import { groupArtifacts, rateSeries, renderDashboard } from '../../src/daemon/dashboard.ts';
import { tokenMatches } from '../../src/daemon/http-util.ts';
import { isRegression } from '../../src/daemon/publisher.ts';
import { subjectsOf } from '../../src/daemon/subjects.ts';
import type { Job } from '../../src/store/types.ts';
import { shellAttestation } from '../support/daemon.ts';

function job(id: string, sha: string, outcome: string | undefined, finishedAt: string): Job {
  return {
    id,
    attestationSha256: 'a'.repeat(64),
    subject: { name: `${sha}.tgz`, sha256: sha },
    state: outcome ? 'done' : 'queued',
    attempt: 1,
    maxAttempts: 3,
    ...(outcome ? { outcome } : {}),
    published: Boolean(outcome),
    requires: {},
    createdAt: finishedAt,
    finishedAt,
    updatedAt: finishedAt,
  };
}

test('retry delay doubles from the base and stops at the cap', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, 1000, 10_000)), [1000, 2000, 4000, 8000, 10_000, 10_000]);
  assert.equal(retryDelayMs(0, 1000, 10_000), 0);
  assert.equal(retryDelayMs(80, 1000, 10_000), 10_000);
});

test('a regression is reproduced → not-reproduced, nothing else', () => {
  assert.equal(isRegression('reproduced', 'not-reproduced'), true);
  assert.equal(isRegression(undefined, 'not-reproduced'), false);
  assert.equal(isRegression('not-reproduced', 'not-reproduced'), false);
  assert.equal(isRegression('reproduced', 'error'), false);
});

test('artifacts group by subject with the newest verdict first; the rate series buckets verdicts', () => {
  const jobs = [
    job('1', 'x', 'reproduced', '2026-01-01T10:00:00Z'),
    job('2', 'x', 'not-reproduced', '2026-01-01T11:00:00Z'),
    job('3', 'y', 'reproduced', '2026-01-01T10:30:00Z'),
    job('4', 'z', 'error', '2026-01-01T10:45:00Z'),
  ];
  const groups = groupArtifacts(jobs);
  assert.deepEqual(groups.map((g) => [g.sha256, g.latest.id, g.history.length]), [['x', '2', 2], ['z', '4', 1], ['y', '3', 1]]);
  const series = rateSeries(jobs);
  assert.deepEqual(series.map((p) => [p.rate, p.n]), [[1, 1], [1, 1], [0, 1]]);
  const html = renderDashboard({ artifacts: groups, running: [], queued: [], counts: { queued: 0, running: 0, done: 4, error: 0 }, generatedAt: 'now' });
  assert.match(html, /1\/3 artifacts reproduced/);
  assert.doesNotMatch(html, /<script/i, 'no scripts on the page');
});

test('the dashboard escapes names from attestations', () => {
  const evil = job('1', 'x', 'reproduced', '2026-01-01T10:00:00Z');
  evil.subject.name = '<img src=x onerror=alert(1)>';
  const html = renderDashboard({ artifacts: groupArtifacts([evil]), running: [], queued: [], counts: { queued: 0, running: 0, done: 1, error: 0 }, generatedAt: 'now' });
  assert.ok(!html.includes('<img src=x'));
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
});

test('bearer tokens must match exactly', () => {
  assert.equal(tokenMatches('Bearer secret-token-123456', 'secret-token-123456'), true);
  assert.equal(tokenMatches('bearer secret-token-123456', 'secret-token-123456'), true);
  assert.equal(tokenMatches('Bearer secret-token-12345', 'secret-token-123456'), false);
  assert.equal(tokenMatches(undefined, 'secret-token-123456'), false);
  assert.equal(tokenMatches('Basic secret-token-123456', 'secret-token-123456'), false);
});

test('subjects come from every statement, deduplicated', () => {
  const subjects = subjectsOf(shellAttestation('a.txt', 'true', 'a'));
  assert.equal(subjects.length, 1);
  assert.equal(subjects[0]!.name, 'a.txt');
  assert.throws(() => subjectsOf(new TextEncoder().encode('{"payloadType":"x","payload":"e30=","signatures":[{"sig":"AA=="}]}')), { code: 'ATTESTATION_MALFORMED' } as never);
});

test('status text lists the queue and recent verdicts', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const text = formatStatus(
    { counts: { queued: 1, running: 0, done: 1, error: 0 }, running: [], queued: [job('q', 'q'.repeat(64), undefined, '2026-01-01T11:59:00Z')], recent: [job('d', 'd'.repeat(64), 'reproduced', '2026-01-01T11:00:00Z')] },
    now,
  );
  assert.match(text, /jobs: 0 running, 1 queued, 1 done, 0 error/);
  assert.match(text, /queued\n {2}q {2}q{64}\.tgz {2}new {2}queued 60s ago/);
  assert.match(text, /reproduced {2}d{64}\.tgz {2}d{16} {4}60m ago/);
});

test('auditedJobs reads the job ids that already have a verdict in the audit log', async () => {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { auditedJobs } = await import('../../src/daemon/publisher.ts');
  const dir = await mkdtemp(join(tmpdir(), 'reprod-audited-'));
  try {
    const path = join(dir, 'audit.jsonl');
    await writeFile(path, `${JSON.stringify({ type: 'job-verdict', jobId: 'a' })}\n${JSON.stringify({ type: 'attestation-verified', jobId: 'b' })}\n{"type":"job-verdict","jobId":"c"`);
    assert.deepEqual([...(await auditedJobs(path))], ['a']);
    assert.equal((await auditedJobs(join(dir, 'missing'))).size, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
