import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitsSchema } from '../../src/config/schema.ts';
import { ReprodError } from '../../src/errors.ts';
import { experimentPlan, wrapperScript } from '../../src/check/experiment.ts';
import { controlPlan } from '../../src/check/runner.ts';
import { findCanaries } from '../../src/check/canary.ts';
import { CANARY, parseVaryList, unavailable, VARIATIONS, type VariationName } from '../../src/check/variations.ts';

const control = controlPlan({
  imageId: `sha256:${'a'.repeat(64)}`,
  imageRef: 'bookworm-build',
  build: 'make',
  outputs: ['out/app'],
  sourceDateEpoch: 1700000000,
  source: { repo: '/src', commit: '' },
  limits: limitsSchema.parse({}),
});

function changed(v: VariationName) {
  const base = experimentPlan(control, []).plan;
  const exp = experimentPlan(control, [v]).plan;
  return { base, exp };
}

test('the control runs the build through the same wrapper, with umask 022 and nothing else', () => {
  const { plan } = experimentPlan(control, []);
  assert.deepEqual(plan.build[0]!.run, ['sh', '-c', 'umask 022; exec "$@"', 'reprod-check', 'sh', '-c', 'make']);
  assert.equal(plan.env.SOURCE_DATE_EPOCH, '1700000000');
  assert.equal(plan.env.TZ, 'UTC');
  assert.equal(plan.user, undefined);
});

test('each variation changes what it says, and only that', () => {
  assert.equal(changed('build-path').exp.workdir, CANARY.buildPath);
  assert.equal(changed('hostname').exp.hostname, CANARY.hostname);
  assert.equal(changed('hostname').exp.domainname, CANARY.domain);
  assert.equal(changed('source-date-epoch').exp.env.SOURCE_DATE_EPOCH, undefined);
  assert.match(changed('umask').exp.build[0]!.run[2]!, /^umask 002; exec "\$@"$/);
  assert.match(changed('timezone').exp.env.TZ!, /REPRODCANARY-14/);
  assert.equal(changed('locale').exp.env.LC_ALL, 'et_EE.UTF-8');
  assert.equal(changed('user').exp.user, '1234:1234');
  assert.equal(changed('home').exp.env.HOME, CANARY.home);
  assert.deepEqual(Object.keys(changed('env').exp.env).slice(0, 3), ['TZ', 'SOURCE_DATE_EPOCH', 'LC_ALL']);
  assert.match(changed('path').exp.build[0]!.run[2]!, /export PATH=\/reprod-canary-bin:"\$PATH"/);
  assert.match(changed('cpus').exp.build[0]!.run[2]!, /exec taskset -c 0 "\$@"/);
  assert.equal(changed('cpus').exp.limits.cpus, 1);
  assert.match(changed('kernel').exp.build[0]!.run[2]!, /exec setarch i686 --uname-2.6 "\$@"/);
  assert.match(changed('clock').exp.env.LD_PRELOAD!, /libfaketime/);
  assert.match(changed('fs-order').exp.env.LD_PRELOAD!, /readdir-reverse/);
  for (const v of VARIATIONS) {
    const { base, exp } = changed(v);
    assert.notDeepEqual(exp, { ...base, notes: exp.notes }, `${v} changes nothing`);
  }
});

test('variations combine: preloads join, wrappers chain, the set order does not matter', () => {
  const a = experimentPlan(control, ['fs-order', 'clock', 'kernel', 'cpus']);
  const b = experimentPlan(control, ['cpus', 'kernel', 'clock', 'fs-order']);
  assert.deepEqual(a, b);
  assert.equal(a.plan.env.LD_PRELOAD, '/reprod-check/libfaketime.so.1:/reprod-check/readdir-reverse.so');
  assert.deepEqual(a.assets.sort(), ['faketime', 'readdir-shim']);
  assert.equal(wrapperScript({ prelude: ['umask 022'], wrappers: [['taskset', '-c', '0'], ['setarch', 'i686']] }), 'umask 022; exec taskset -c 0 setarch i686 "$@"');
});

test('--vary parsing: all, a list, a list of removals; unknown names are USAGE errors', () => {
  assert.deepEqual(parseVaryList('all'), [...VARIATIONS]);
  assert.deepEqual(parseVaryList('umask,hostname'), ['umask', 'hostname']);
  assert.deepEqual(parseVaryList('-clock,-kernel'), VARIATIONS.filter((v) => v !== 'clock' && v !== 'kernel'));
  assert.throws(() => parseVaryList('umask,hostnme'), (e: unknown) => e instanceof ReprodError && e.code === 'USAGE');
});

test('a variation whose host asset is missing is unavailable, with the reason', () => {
  const host = { cpuCount: 1, assets: new Set<never>() };
  assert.match(unavailable('clock', host)!, /faketime/);
  assert.match(unavailable('cpus', host)!, /1 CPU/);
  assert.equal(unavailable('hostname', host), undefined);
});

test('canaries are found with their offset and context', () => {
  const buf = Buffer.from('\x00\x01built on reprod-canary-host at /build/reprod-canary-path/x.c\x00');
  const hits = findCanaries(buf, [
    { variation: 'hostname', canary: CANARY.hostname },
    { variation: 'build-path', canary: CANARY.buildPath },
  ]);
  assert.deepEqual(hits.map((h) => [h.variation, h.offset]), [
    ['hostname', 11],
    ['build-path', 33],
  ]);
  assert.match(hits[0]!.context, /^\.\.built on reprod-canary-host at/);
});
