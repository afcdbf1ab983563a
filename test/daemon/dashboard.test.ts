/** The dashboard in headless Chromium: loads, lists the fixture verdicts, opens a diff report. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { JobResult, JobRunner, RunContext } from '../../src/daemon/runner.ts';
import { silentLogger } from '../../src/log/logger.ts';
import type { Job } from '../../src/store/types.ts';
import { daemonWorkspace, shellAttestation, TEST_TOKEN, waitFor } from '../support/daemon.ts';

const CHROMIUM = '/usr/bin/chromium';

/**
 * Fixture verdicts by subject name: `ok-*` reproduce, `diff-*` do not (with a report), `err-*` fail.
 * `slow-*` jobs stay running until `release` settles, so the page sees them in the queue however
 * long the browser takes to start.
 */
function fixtureRunner(staging: string, release: Promise<void>): JobRunner {
  return {
    async run(job: Job, rc: RunContext): Promise<JobResult> {
      const dir = join(staging, `${job.id}-${rc.attempt}`);
      await mkdir(dir, { recursive: true });
      if (job.subject.name.startsWith('slow-')) {
        rc.log('build: make -j2 (stage 2 of 4)');
        await release;
      }
      if (job.subject.name.startsWith('err-')) return { outcome: 'error', error: { code: 'BUILD_FAILED', message: 'make: *** [all] Error 2' }, stagedDir: dir };
      const outcome = job.subject.name.startsWith('ok-') ? 'reproduced' : 'not-reproduced';
      await writeFile(join(dir, 'verdict.json'), JSON.stringify({ outcome }));
      if (outcome === 'not-reproduced') {
        await writeFile(join(dir, 'report.html'), `<!doctype html><title>report</title><h1>Diff report for ${job.subject.name}</h1><p>mtime of member lib/x.js differs: embedded timestamp</p>`);
      }
      return { outcome, stagedDir: dir };
    },
  };
}

test('dashboard: lists every artifact with its latest verdict and opens the HTML diff report', { skip: !existsSync(CHROMIUM) && 'chromium is not installed (apt-get install -y chromium)' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-dash-'));
  const ws = await daemonWorkspace(dir, { feeds: [], concurrency: 2 });
  let releaseSlow = (): void => {};
  const release = new Promise<void>((r) => (releaseSlow = r));
  const daemon = await Daemon.start({ loaded: loadConfig(ws.configPath), logger: silentLogger, runner: fixtureRunner(join(dir, 'stage'), release) });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const names = ['ok-left-pad-1.3.0.tgz', 'ok-zlib-1.3.deb', 'diff-openssl-3.0.13.tar.gz', 'err-busybox-1.36.tgz'];
    for (const [i, name] of names.entries()) {
      const res = await fetch(`${daemon.url}/v1/attestations`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` }, body: shellAttestation(name, 'true', `${name} ${i}`) });
      assert.equal(res.status, 201);
    }
    await waitFor('four verdicts', async () => (await daemon.store.countByState()).done === 4);
    const slow = await fetch(`${daemon.url}/v1/attestations`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` }, body: shellAttestation('slow-ok-glibc-2.36.deb', 'true', 'slow') });
    assert.equal(slow.status, 201);
    await waitFor('a running job', async () => (await daemon.store.countByState()).running === 1);

    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`${daemon.url}/`);
    assert.equal(await page.title(), 'reprod — rebuild verdicts');
    const rows = await page.locator('tr.artifact').allInnerTexts();
    assert.equal(rows.length, 4);
    assert.match(await page.locator('section', { hasText: 'Queue' }).innerText(), /slow-ok-glibc-2\.36\.deb running\s+build: make -j2/);
    for (const name of names) assert.ok(rows.some((r) => r.includes(name)), name);
    assert.ok(rows.find((r) => r.includes('diff-openssl'))!.includes('not-reproduced'));
    assert.ok(rows.find((r) => r.includes('err-busybox'))!.includes('BUILD_FAILED'));
    assert.match(await page.locator('header').innerText(), /2\/4 artifacts reproduced/);
    assert.equal(await page.locator('svg.chart').count(), 1, 'the rate chart is drawn');
    await page.screenshot({ path: join(tmpdir(), 'reprod-dashboard.png'), fullPage: true });

    await page.locator('tr.artifact', { hasText: 'diff-openssl' }).locator('a.report').first().click();
    await page.waitForURL(/\/v1\/reports\/[^/]+\.html$/);
    assert.match(await page.locator('h1').innerText(), /Diff report for diff-openssl-3\.0\.13\.tar\.gz/);
  } finally {
    releaseSlow();
    await browser.close();
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
