// Runs `tessera plan` as a real process on every example plan and checks what a script would
// see: the exit status and the JSON report.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const root = fileURLToPath(new URL('../../', import.meta.url));
const examples = 'examples/plans';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function tessera(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli/main.ts', ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

interface Expectation {
  code: 0 | 1;
  maxNodes?: number | null;
  maxPodsPerNode?: number | null;
  workerNodes?: number | null;
  masters?: [count: number, cpu: number, memoryGiB: number];
  errorFields?: string[];
  warningFields?: string[];
}

// What docs/planning.md promises for each example.
const expected: Record<string, Expectation> = {
  'seed-shop.yaml': { code: 0, maxNodes: 512, maxPodsPerNode: 110, workerNodes: 20, masters: [3, 8, 32], errorFields: [], warningFields: ['spec.cluster.network.proxyMode'] },
  'good-recommended.yaml': { code: 0, maxNodes: 256, workerNodes: 8, masters: [3, 8, 32], errorFields: [], warningFields: [] },
  'good-large-dedicated.yaml': { code: 0, maxNodes: 1024, workerNodes: 300, masters: [3, 32, 128], errorFields: [], warningFields: [] },
  'good-ipv6.yaml': { code: 0, maxNodes: 256, maxPodsPerNode: 110, workerNodes: 2, masters: [3, 8, 32], errorFields: [], warningFields: [] },
  'good-serverless.yaml': { code: 0, maxNodes: null, workerNodes: 0, masters: [0, 0, 0], errorFields: [], warningFields: [] },
  'good-cluster-object.yaml': { code: 0, maxNodes: 256, workerNodes: null, masters: [3, 8, 32], errorFields: [], warningFields: [] },
  'warn-beyond-max-nodes.yaml': { code: 0, maxNodes: 512, workerNodes: 600, masters: [3, 64, 256], errorFields: [], warningFields: ['spec.nodes.count', 'spec.vpc.zones'] },
  'bad-host-bits.yaml': { code: 1, maxNodes: 512, errorFields: ['spec.cluster.network.podCIDR'] },
  'bad-overlaps.yaml': {
    code: 1,
    errorFields: [
      'spec.cluster.network.serviceCIDR',
      'spec.cluster.network.podCIDR',
      'spec.cluster.network.serviceCIDR',
      'spec.vpc.zones[1].vswitchCIDR',
      'spec.vpc.zones[2].vswitchCIDR',
      'spec.cluster.network.podCIDR',
      'spec.cluster.network.serviceCIDR',
    ],
  },
  'bad-other-cluster.yaml': { code: 1, maxNodes: 256, errorFields: ['spec.cluster.network.podCIDR', 'spec.cluster.network.serviceCIDR'] },
  'bad-service-cidr-too-large.yaml': { code: 1, errorFields: ['spec.cluster.network.serviceCIDR'] },
  'bad-node-mask.yaml': { code: 1, maxNodes: 0, errorFields: ['spec.cluster.network.nodeCIDRMaskSize', 'spec.cluster.network.maxPodsPerNode'] },
  'bad-mask-difference.yaml': { code: 1, maxNodes: 1048576, maxPodsPerNode: 14, errorFields: ['spec.cluster.network.podAddressesPerNode'] },
  'bad-reserved-range.yaml': { code: 1, errorFields: ['spec.cluster.network.podCIDR'] },
  'bad-capacity.yaml': { code: 1, workerNodes: 5, errorFields: ['spec.workloads[1].memory', 'spec.nodes.count'] },
  'bad-schema.yaml': {
    code: 1,
    errorFields: ['spec.cluster.version', 'spec.cluster.network.proxyMode', 'spec.workloads[0].replicas', 'spec.cluster.network.podCIDR'],
    warningFields: ['spec.cluster.network.podCidr'],
  },
};

interface Report {
  ok: boolean;
  findings: { severity: string; field: string; message: string; fix: string }[];
  network: { maxNodes: number | null; maxPodsPerNode: number | null; zones: { name: string; nodeCapacity: number }[] };
  capacity: { workerNodes: number | null };
  masters: { count: number; cpu: number; memoryGiB: number };
  immutableFields: { field: string }[];
}

describe('tessera plan on the example plans', () => {
  test('every example has an expectation here (and in docs/planning.md)', async () => {
    const files = (await readdir(`${root}${examples}`)).filter((name) => name.endsWith('.yaml')).sort();
    assert.deepEqual(files, [...Object.keys(expected), 'unreadable.yaml'].sort());
  });

  for (const [file, expectation] of Object.entries(expected)) {
    test(`${file}: exit ${expectation.code}`, async () => {
      const run = await tessera(['plan', `${examples}/${file}`, '--output', 'json']);
      assert.equal(run.code, expectation.code, run.stderr || run.stdout);
      const report = JSON.parse(run.stdout) as Report;
      assert.equal(report.ok, expectation.code === 0);
      for (const finding of report.findings) {
        assert.ok(['error', 'warning', 'info'].includes(finding.severity));
        assert.ok(finding.field !== undefined && finding.message.length > 0 && finding.fix.length > 0, JSON.stringify(finding));
      }
      const fields = (severity: string) => report.findings.filter((f) => f.severity === severity).map((f) => f.field);
      if (expectation.errorFields) assert.deepEqual(fields('error'), expectation.errorFields);
      if (expectation.warningFields) assert.deepEqual(fields('warning'), expectation.warningFields);
      if (expectation.maxNodes !== undefined) assert.equal(report.network.maxNodes, expectation.maxNodes);
      if (expectation.maxPodsPerNode !== undefined) assert.equal(report.network.maxPodsPerNode, expectation.maxPodsPerNode);
      if (expectation.workerNodes !== undefined) assert.equal(report.capacity.workerNodes, expectation.workerNodes);
      if (expectation.masters) assert.deepEqual([report.masters.count, report.masters.cpu, report.masters.memoryGiB], expectation.masters);
      assert.ok(Array.isArray(report.network.zones) && Array.isArray(report.immutableFields));
    });
  }

  test("the seed's zones: two /24 vSwitches of 252 nodes each", async () => {
    const run = await tessera(['plan', `${examples}/seed-shop.yaml`, '-o', 'json']);
    const report = JSON.parse(run.stdout) as Report;
    assert.deepEqual(report.network.zones.map((zone) => [zone.name, zone.nodeCapacity]), [
      ['zone-a', 252],
      ['zone-b', 252],
    ]);
  });

  test('the host-bits fix is the canonical CIDR', async () => {
    const report = JSON.parse((await tessera(['plan', `${examples}/bad-host-bits.yaml`, '--output=json'])).stdout) as Report;
    assert.equal(report.findings.find((f) => f.severity === 'error')?.fix, 'use 172.16.0.0/16');
  });

  test('the text report is the default and is readable', async () => {
    const run = await tessera(['plan', `${examples}/seed-shop.yaml`]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Plan "shop" \(ClusterPlan\) from examples\/plans\/seed-shop\.yaml: OK/);
    assert.match(run.stdout, /max nodes +512/);
    assert.match(run.stdout, /Fixed at creation/);
    assert.equal(run.stderr, '');
  });

  test('an unreadable file exits 2 with the parse error and its line', async () => {
    const run = await tessera(['plan', `${examples}/unreadable.yaml`]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unreadable\.yaml:10:\d+: .*Flow map/);
    const json = await tessera(['plan', `${examples}/unreadable.yaml`, '-o', 'json']);
    assert.equal(json.code, 2);
    const body = JSON.parse(json.stdout) as { ok: boolean; error: { line: number; message: string } };
    assert.equal(body.ok, false);
    assert.equal(body.error.line, 10);
  });

  test('a missing file exits 2', async () => {
    const run = await tessera(['plan', `${examples}/no-such-plan.yaml`]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no-such-plan\.yaml: cannot read: no such file/);
  });

  test('bad usage exits 2 with the usage; --help exits 0', async () => {
    assert.equal((await tessera(['plan'])).code, 2);
    assert.equal((await tessera(['plan', 'a.yaml', 'b.yaml'])).code, 2);
    const badOutput = await tessera(['plan', `${examples}/seed-shop.yaml`, '--output', 'xml']);
    assert.equal(badOutput.code, 2);
    assert.match(badOutput.stderr, /--output must be text or json/);
    assert.equal((await tessera(['plan', '--frobnicate'])).code, 2);
    const help = await tessera(['plan', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: tessera plan FILE/);
  });

  test('"-" reads the plan from standard input, JSON included', async () => {
    const plan = JSON.stringify({
      apiVersion: 'tessera.dev/v1alpha1',
      kind: 'ClusterPlan',
      metadata: { name: 'piped' },
      spec: { cluster: { type: 'Managed', network: { podCIDR: '172.16.0.0/16', serviceCIDR: '172.16.0.0/20', nodeCIDRMaskSize: 24 } } },
    });
    const run = await tessera(['plan', '-', '-o', 'json'], plan);
    assert.equal(run.code, 1);
    const report = JSON.parse(run.stdout) as Report;
    assert.deepEqual(report.findings.filter((f) => f.severity === 'error').map((f) => f.field), ['spec.cluster.network.serviceCIDR']);
  });
});
