import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readClusterPlan } from './cluster-plan-schema.ts';
import type { Finding } from './finding.ts';

const base = {
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
      zones: [{ name: 'zone-a', vswitchCIDR: '192.168.0.0/24' }],
      otherClusters: [{ name: 'prod-1', podCIDR: '10.0.0.0/16', serviceCIDR: '10.1.0.0/20' }],
    },
    nodes: { instance: { cpu: 16, memoryGiB: 64 }, count: 20 },
    workloads: [{ name: 'web', replicas: 30, cpu: '500m', memory: '1Gi' }],
  },
};

type Patch = (document: typeof base & Record<string, unknown>) => void;
function read(patch?: Patch) {
  const document = structuredClone(base) as typeof base & Record<string, unknown>;
  patch?.(document);
  return readClusterPlan(document);
}
const at = (findings: Finding[], severity: Finding['severity']) => findings.filter((f) => f.severity === severity).map((f) => f.field);

describe('a ClusterPlan', () => {
  test('the issue\'s example reads without findings into the plan model', () => {
    const { plan, findings } = read();
    assert.deepEqual(findings, []);
    assert.equal(plan?.name, 'shop');
    assert.equal(plan?.sourceKind, 'ClusterPlan');
    assert.deepEqual(plan?.paths, { cluster: 'spec.cluster', network: 'spec.cluster.network' });
    assert.equal(plan?.cluster.network.podAddressesPerNode, 128);
    assert.deepEqual(plan?.nodes?.instance, { cpu: 16, memoryGiB: 64 });
    assert.deepEqual(plan?.workloads, [{ name: 'web', replicas: 30, perNode: false, cpu: 0.5, memoryBytes: 2 ** 30 }]);
    assert.equal(plan?.vpc?.otherClusters[0]?.podCIDR, '10.0.0.0/16');
  });

  test('wrong types name the field and keep the rest of the plan', () => {
    const { plan, findings } = read((d) => {
      (d.spec.cluster.network as Record<string, unknown>)['serviceCIDR'] = 172;
      (d.spec.nodes as Record<string, unknown>)['count'] = 2.5;
      (d.spec.cluster.network as Record<string, unknown>)['nodeCIDRMaskSize'] = 200;
    });
    assert.deepEqual(at(findings, 'error'), ['spec.cluster.network.serviceCIDR', 'spec.cluster.network.nodeCIDRMaskSize', 'spec.nodes.count']);
    assert.equal(plan?.cluster.network.serviceCIDR, undefined);
    assert.equal(plan?.cluster.network.podCIDR, '172.16.0.0/16');
  });

  test('a version YAML read as a number is an error that says to quote it', () => {
    const { findings } = read((d) => {
      (d.spec.cluster as Record<string, unknown>)['version'] = 1.35;
    });
    assert.deepEqual(at(findings, 'error'), ['spec.cluster.version']);
    assert.match(findings[0]?.fix ?? '', /"1\.35\.0"/);
    assert.deepEqual(at(read((d) => void (d.spec.cluster.version = 'latest')).findings, 'error'), ['spec.cluster.version']);
  });

  test('enumerations list the allowed values and correct the case', () => {
    const { findings } = read((d) => {
      d.spec.cluster.type = 'managed';
      d.spec.cluster.network.proxyMode = 'nftables';
    });
    assert.deepEqual(at(findings, 'error'), ['spec.cluster.type', 'spec.cluster.network.proxyMode']);
    assert.equal(findings[0]?.fix, 'write Managed');
    assert.match(findings[1]?.fix ?? '', /iptables, ipvs/);
  });

  test('a missing type is a warning and plans as Managed', () => {
    const { plan, findings } = read((d) => {
      delete (d.spec.cluster as Record<string, unknown>)['type'];
    });
    assert.deepEqual(at(findings, 'warning'), ['spec.cluster.type']);
    assert.equal(plan?.cluster.type, 'Managed');
    assert.equal(plan?.cluster.typeGiven, false);
  });

  test('unknown fields are warnings with a did-you-mean', () => {
    const { findings } = read((d) => {
      (d.spec.cluster.network as Record<string, unknown>)['podCidr'] = '10.0.0.0/16';
      (d.spec as Record<string, unknown>)['node'] = {};
    });
    assert.deepEqual(at(findings, 'warning'), ['spec.node', 'spec.cluster.network.podCidr']);
    assert.equal(findings[0]?.fix, 'did you mean "nodes"?');
    assert.equal(findings[1]?.fix, 'did you mean "podCIDR"?');
  });

  test('workloads: quantities, per-node workloads, and missing replicas or requests', () => {
    const { plan, findings } = read((d) => {
      (d.spec as Record<string, unknown>)['workloads'] = [
        { name: 'agent', perNode: true, cpu: '100m', memory: '128Mi' },
        { name: 'api', cpu: 'lots', memory: '1Gi' },
        { name: 'batch', replicas: 2 },
        'not-a-mapping',
      ];
    });
    assert.deepEqual(at(findings, 'error'), ['spec.workloads[1].replicas', 'spec.workloads[1].cpu', 'spec.workloads[3]']);
    assert.deepEqual(at(findings, 'warning'), ['spec.workloads[2].cpu', 'spec.workloads[2].memory']);
    assert.deepEqual(plan?.workloads[0], { name: 'agent', replicas: 0, perNode: true, cpu: 0.1, memoryBytes: 128 * 2 ** 20 });
  });

  test('instance sizes must be positive numbers; CPU may be a quantity', () => {
    const { plan, findings } = read((d) => {
      (d.spec.nodes as Record<string, unknown>)['instance'] = { cpu: '8', memoryGiB: 0 };
    });
    assert.deepEqual(at(findings, 'error'), ['spec.nodes.instance.memoryGiB']);
    assert.equal(plan?.nodes?.instance, undefined);
  });

  test('zones and other clusters must be mappings with their fields', () => {
    const { findings } = read((d) => {
      (d.spec.vpc as Record<string, unknown>)['zones'] = [{ name: 'zone-a' }, '192.168.0.0/24'];
      (d.spec.vpc as Record<string, unknown>)['otherClusters'] = { name: 'x' };
    });
    assert.deepEqual(at(findings, 'error'), ['spec.vpc.zones[0].vswitchCIDR', 'spec.vpc.zones[1]', 'spec.vpc.otherClusters']);
  });
});

describe('the document', () => {
  test('must be a mapping of a known kind', () => {
    assert.deepEqual(readClusterPlan('text').findings.map((f) => f.field), ['']);
    const wrongKind = readClusterPlan({ ...base, kind: 'Deployment' });
    assert.equal(wrongKind.plan, null);
    assert.deepEqual(wrongKind.findings.map((f) => f.field), ['kind']);
  });

  test('a wrong apiVersion is an error but the plan is still read', () => {
    const { plan, findings } = readClusterPlan({ ...base, apiVersion: 'tessera.dev/v1' });
    assert.deepEqual(at(findings, 'error'), ['apiVersion']);
    assert.ok(plan);
  });

  test('a missing spec or spec.cluster is an error', () => {
    assert.deepEqual(at(readClusterPlan({ ...base, spec: undefined }).findings, 'error'), ['spec']);
    assert.deepEqual(at(readClusterPlan({ ...base, spec: {} }).findings, 'error'), ['spec.cluster']);
  });

  test('a missing name is a warning', () => {
    assert.deepEqual(at(readClusterPlan({ ...base, metadata: {} }).findings, 'warning'), ['metadata.name']);
  });
});

describe('a Cluster object', () => {
  const cluster = {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'team-a', namespace: 'tenants' },
    spec: {
      version: '1.35.0',
      mode: 'Minimal',
      etcd: { storage: { claimTemplate: {} } },
      network: { podCIDR: '10.200.0.0/16', serviceCIDR: '10.201.0.0/20', nodeCIDRMaskSize: 24, proxyMode: 'iptables', plugin: 'flannel' },
    },
  };

  test('maps spec.version and spec.network into the plan with the Cluster\'s own field paths', () => {
    const { plan, findings } = readClusterPlan(cluster);
    assert.deepEqual(findings, []);
    assert.equal(plan?.sourceKind, 'Cluster');
    assert.deepEqual(plan?.paths, { cluster: 'spec', network: 'spec.network' });
    assert.equal(plan?.cluster.version, '1.35.0');
    assert.equal(plan?.cluster.masterReplicas, 1);
    assert.deepEqual(plan?.cluster.network, { podCIDR: '10.200.0.0/16', serviceCIDR: '10.201.0.0/20', podAddressesPerNode: undefined, nodeCIDRMaskSize: 24, maxPodsPerNode: undefined, proxyMode: 'iptables' });
  });

  test('reports wrong network fields at spec.network', () => {
    const { findings } = readClusterPlan({ ...cluster, spec: { ...cluster.spec, network: { ...cluster.spec.network, serviceCIDR: 5 } } });
    assert.deepEqual(at(findings, 'error'), ['spec.network.serviceCIDR']);
  });
});
