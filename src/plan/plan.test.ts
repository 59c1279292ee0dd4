import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planDocument, type PlanReport } from './plan.ts';

const seed = {
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'ClusterPlan',
  metadata: { name: 'shop' },
  spec: {
    cluster: {
      type: 'Managed',
      version: '1.35.0',
      network: { podCIDR: '172.16.0.0/16', serviceCIDR: '172.19.0.0/20', podAddressesPerNode: 128, proxyMode: 'ipvs' },
    },
    vpc: {
      cidr: '192.168.0.0/16',
      zones: [
        { name: 'zone-a', vswitchCIDR: '192.168.0.0/24' },
        { name: 'zone-b', vswitchCIDR: '192.168.1.0/24' },
      ],
      otherClusters: [{ name: 'prod-1', podCIDR: '10.0.0.0/16', serviceCIDR: '10.1.0.0/20' }],
    },
    nodes: { instance: { cpu: 16, memoryGiB: 64 }, count: 20 },
    workloads: [{ name: 'web', replicas: 30, cpu: '500m', memory: '1Gi' }],
  },
};

type Document = typeof seed;
function plan(patch?: (document: Document) => void): PlanReport {
  const document = structuredClone(seed);
  patch?.(document);
  return planDocument(document);
}
const errors = (report: PlanReport) => report.findings.filter((f) => f.severity === 'error').map((f) => f.field);

describe("the seed's example", () => {
  const report = plan();

  test('is ok with 512 max nodes', () => {
    assert.equal(report.ok, true);
    assert.equal(report.network.maxNodes, 512);
    assert.equal(report.network.nodeCIDRMaskSize, 25);
    assert.equal(report.network.maxPodsPerNode, 110);
    assert.equal(report.network.serviceAddresses, 4096);
  });

  test('reports zone capacities, the checked worker count and the masters', () => {
    assert.deepEqual(report.network.zones, [
      { name: 'zone-a', vswitchCIDR: '192.168.0.0/24', nodeCapacity: 252 },
      { name: 'zone-b', vswitchCIDR: '192.168.1.0/24', nodeCapacity: 252 },
    ]);
    assert.equal(report.capacity.workerNodes, 20);
    assert.equal(report.capacity.recommendedWorkerNodes, 3);
    assert.deepEqual([report.masters.count, report.masters.cpu, report.masters.memoryGiB], [3, 8, 32]);
  });

  test('lists the choices that are final', () => {
    assert.deepEqual(
      report.immutableFields.map((f) => f.field),
      [
        'spec.cluster.type',
        'spec.cluster.network.podCIDR',
        'spec.cluster.network.serviceCIDR',
        'spec.cluster.network.podAddressesPerNode',
        'spec.cluster.network.maxPodsPerNode',
        'spec.cluster.network.proxyMode',
        'spec.nodes.systemDisk.type',
        'spec.nodes.dataDisk.type',
      ],
    );
  });

  test('warns only that ipvs is deprecated', () => {
    assert.deepEqual(report.summary, { errors: 0, warnings: 1, infos: 1 });
    assert.equal(report.findings[0]?.field, 'spec.cluster.network.proxyMode');
  });

  test('is plain JSON', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  });
});

describe('errors make the plan not ok and carry field and fix', () => {
  const cases: [string, (d: Document) => void, string[]][] = [
    ['host bits', (d) => void (d.spec.cluster.network.podCIDR = '172.16.1.0/16'), ['spec.cluster.network.podCIDR']],
    ['pod vs service', (d) => void (d.spec.cluster.network.serviceCIDR = '172.16.16.0/20'), ['spec.cluster.network.serviceCIDR']],
    ['pod vs VPC', (d) => void (d.spec.cluster.network.podCIDR = '192.168.0.0/16'), ['spec.cluster.network.podCIDR']],
    ['pod vs other cluster', (d) => void (d.spec.cluster.network.podCIDR = '10.0.0.0/16'), ['spec.cluster.network.podCIDR']],
    ['service too large', (d) => void (d.spec.cluster.network.serviceCIDR = '100.64.0.0/10'), ['spec.cluster.network.serviceCIDR']],
    ['vSwitch outside VPC', (d) => void (d.spec.vpc.zones[1] = { name: 'zone-b', vswitchCIDR: '10.9.0.0/24' }), ['spec.vpc.zones[1].vswitchCIDR']],
    [
      'too few nodes',
      (d) => {
        d.spec.nodes.count = 1;
        d.spec.workloads = [{ name: 'web', replicas: 60, cpu: '500m', memory: '1Gi' }];
      },
      ['spec.nodes.count'],
    ],
  ];
  for (const [name, patch, fields] of cases) {
    test(name, () => {
      const report = plan(patch);
      assert.equal(report.ok, false);
      assert.deepEqual(errors(report), fields);
      for (const finding of report.findings) {
        assert.ok(finding.message.length > 0 && finding.fix.length > 0, JSON.stringify(finding));
      }
    });
  }
});

describe('sizing', () => {
  test('without a count the planner recommends one and sizes masters for it', () => {
    const report = plan((d) => {
      delete (d.spec.nodes as { count?: number }).count;
      d.spec.workloads = [{ name: 'web', replicas: 1500, cpu: '1', memory: '2Gi' }];
    });
    // 1.2 x 1500 CPU / 15.89 = 113.3 -> 114, plus the spare node.
    assert.equal(report.capacity.workerNodes, 115);
    assert.equal(report.capacity.workerNodesSource, 'recommended');
    assert.deepEqual([report.masters.cpu, report.masters.memoryGiB], [16, 64]);
    assert.equal(report.ok, true);
  });

  test('more nodes than the pod CIDR addresses is a warning, not an error', () => {
    const report = plan((d) => void (d.spec.nodes.count = 600));
    assert.equal(report.ok, true);
    assert.ok(report.findings.some((f) => f.severity === 'warning' && f.field === 'spec.nodes.count' && /512/.test(f.message)));
    assert.deepEqual([report.masters.cpu, report.masters.memoryGiB], [64, 256]);
  });

  test('maxPods is maxNodes x maxPodsPerNode', () => {
    assert.equal(plan().network.maxPods, 512 * 110);
  });
});

describe('other inputs', () => {
  test('a Serverless plan has no nodes and no user-visible masters', () => {
    const report = planDocument({
      ...seed,
      spec: { cluster: { type: 'Serverless', version: '1.35.0', network: { serviceCIDR: '172.19.0.0/20' } }, vpc: seed.spec.vpc, workloads: seed.spec.workloads },
    });
    assert.equal(report.ok, true);
    assert.equal(report.network.maxNodes, null);
    assert.equal(report.capacity.workerNodes, 0);
    assert.deepEqual([report.masters.count, report.masters.userVisible], [0, false]);
    assert.ok(!report.immutableFields.some((f) => f.field.endsWith('podCIDR')));
  });

  test('a Cluster object is planned with its own field paths and no capacity', () => {
    const report = planDocument({
      apiVersion: 'tessera.dev/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'team-a' },
      spec: { version: '1.35.0', network: { podCIDR: '10.200.1.0/16', serviceCIDR: '10.201.0.0/20', nodeCIDRMaskSize: 24, proxyMode: 'iptables' } },
    });
    assert.equal(report.ok, false);
    assert.deepEqual(errors(report), ['spec.network.podCIDR']);
    assert.equal(report.findings[0]?.fix, 'use 10.200.0.0/16');
    assert.equal(report.network.maxNodes, 256);
    assert.equal(report.capacity.workerNodes, null);
    assert.equal(report.sourceKind, 'Cluster');
    assert.ok(report.findings.every((f) => !f.field.startsWith('spec.nodes') && !f.field.startsWith('spec.vpc')));
  });

  test('a document of another kind gives only the schema error', () => {
    const report = planDocument({ apiVersion: 'v1', kind: 'ConfigMap' });
    assert.equal(report.ok, false);
    assert.deepEqual(errors(report), ['kind']);
    assert.equal(report.network.maxNodes, null);
  });
});
