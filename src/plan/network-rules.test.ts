import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cidrsOverlap, parseCidr } from './cidr.ts';
import type { ClusterNetworkSpec, VpcSpec } from './cluster-plan.ts';
import type { Finding } from './finding.ts';
import { checkClusterNetwork, checkClusterNetworkAgainstVpc, type NetworkInput } from './network-rules.ts';

const net = 'spec.cluster.network';
const seedNetwork: ClusterNetworkSpec = { podCIDR: '172.16.0.0/16', serviceCIDR: '172.19.0.0/20', podAddressesPerNode: 128, proxyMode: 'ipvs' };
const seedVpc: VpcSpec = {
  cidr: '192.168.0.0/16',
  zones: [
    { name: 'zone-a', vswitchCIDR: '192.168.0.0/24' },
    { name: 'zone-b', vswitchCIDR: '192.168.1.0/24' },
  ],
  otherClusters: [{ name: 'prod-1', podCIDR: '10.0.0.0/16', serviceCIDR: '10.1.0.0/20' }],
};

function check(network: Partial<ClusterNetworkSpec>, vpc?: Partial<VpcSpec>, extra: Partial<NetworkInput> = {}) {
  return checkClusterNetwork({
    clusterType: 'Managed',
    network: { ...seedNetwork, ...network },
    networkPath: net,
    vpc: vpc === undefined ? undefined : { ...seedVpc, ...vpc },
    vpcPath: vpc === undefined ? undefined : 'spec.vpc',
    ...extra,
  });
}

const bySeverity = (findings: Finding[], severity: Finding['severity']) => findings.filter((f) => f.severity === severity);
const errorFields = (findings: Finding[]) => bySeverity(findings, 'error').map((f) => f.field);
/** The CIDR a fix proposes ("... e.g. 172.20.0.0/16"). */
const proposed = (finding: Finding | undefined) => /e\.g\. (\S+?\/\d+)/.exec(finding?.fix ?? '')?.[1];

test("the seed's network has no errors or warnings", () => {
  const result = check({}, {});
  assert.deepEqual(
    result.findings.filter((f) => f.severity !== 'info'),
    [],
  );
  assert.equal(result.maxNodes, 512);
  assert.equal(result.family, 'IPv4');
});

describe('syntax', () => {
  test('host bits set: an error whose fix is the canonical CIDR, and planning continues with it', () => {
    const result = check({ podCIDR: '172.16.1.0/16' }, {});
    const error = bySeverity(result.findings, 'error')[0];
    assert.equal(error?.field, `${net}.podCIDR`);
    assert.match(error?.message ?? '', /host bits/);
    assert.equal(error?.fix, 'use 172.16.0.0/16');
    assert.equal(result.maxNodes, 512);
  });

  test('an IPv6 CIDR with host bits gets the RFC 5952 canonical form', () => {
    const result = check({ podCIDR: 'FD00:10::1/56', serviceCIDR: 'fd00:20::/112', podAddressesPerNode: undefined, nodeCIDRMaskSize: 64 });
    assert.equal(bySeverity(result.findings, 'error')[0]?.fix, 'use fd00:10::/56');
  });

  test('a value that is not a CIDR names the field and the expected form', () => {
    const result = check({ serviceCIDR: '172.19.0.0' });
    const error = bySeverity(result.findings, 'error')[0];
    assert.equal(error?.field, `${net}.serviceCIDR`);
    assert.match(error?.message ?? '', /no prefix length/);
    assert.match(error?.fix ?? '', /address\/prefix/);
  });

  test('zone and other-cluster CIDRs are checked with their own paths', () => {
    const result = check({}, { zones: [{ name: 'zone-a', vswitchCIDR: '192.168.0.1/24' }], otherClusters: [{ name: 'x', podCIDR: 'nope' }] });
    assert.deepEqual(errorFields(result.findings), ['spec.vpc.zones[0].vswitchCIDR', 'spec.vpc.otherClusters[0].podCIDR']);
  });
});

describe('required ranges', () => {
  test('a missing pod CIDR is an error whose fix proposes a range free in the VPC', () => {
    const result = check({ podCIDR: undefined }, { otherClusters: [{ name: 'a', podCIDR: '172.16.0.0/16', serviceCIDR: '172.17.0.0/20' }] });
    const error = bySeverity(result.findings, 'error').find((f) => f.field === `${net}.podCIDR`);
    assert.ok(error);
    assert.equal(proposed(error), '172.18.0.0/16');
  });

  test('a missing service CIDR is an error', () => {
    assert.deepEqual(errorFields(check({ serviceCIDR: undefined }).findings), [`${net}.serviceCIDR`]);
  });

  test('a Serverless cluster needs no pod CIDR and is warned when it has one', () => {
    const without = checkClusterNetwork({ clusterType: 'Serverless', network: { serviceCIDR: '172.19.0.0/20' }, networkPath: net });
    assert.deepEqual(errorFields(without.findings), []);
    assert.equal(without.maxNodes, null);
    const withPod = checkClusterNetwork({ clusterType: 'Serverless', network: { serviceCIDR: '172.19.0.0/20', podCIDR: '172.16.0.0/16' }, networkPath: net });
    assert.deepEqual(bySeverity(withPod.findings, 'warning').map((f) => f.field), [`${net}.podCIDR`]);
  });
});

describe('overlaps', () => {
  test('service CIDR inside the pod CIDR', () => {
    const result = check({ serviceCIDR: '172.16.240.0/20' });
    const error = bySeverity(result.findings, 'error')[0];
    assert.equal(error?.field, `${net}.serviceCIDR`);
    assert.match(error?.message ?? '', /overlaps the pod CIDR 172\.16\.0\.0\/16/);
    const fix = parseCidr(proposed(error) ?? '');
    const pod = parseCidr('172.16.0.0/16');
    assert.ok(fix.ok && pod.ok);
    assert.equal(cidrsOverlap(fix.cidr, pod.cidr), false);
  });

  test('pod CIDR over the VPC names the vSwitches it covers', () => {
    const result = check({ podCIDR: '192.168.0.0/16' }, {});
    const error = bySeverity(result.findings, 'error').find((f) => f.field === `${net}.podCIDR`);
    assert.match(error?.message ?? '', /overlaps the VPC CIDR 192\.168\.0\.0\/16 \(and the vSwitches of zone-a, zone-b\)/);
  });

  test('service CIDR over the VPC', () => {
    assert.deepEqual(errorFields(check({ serviceCIDR: '192.168.128.0/20' }, {}).findings), [`${net}.serviceCIDR`]);
  });

  test('pod CIDR over a vSwitch when no VPC CIDR is known', () => {
    const result = check({ podCIDR: '192.168.0.0/20' }, { cidr: undefined });
    const errors = bySeverity(result.findings, 'error');
    assert.deepEqual(errors.map((f) => f.field), [`${net}.podCIDR`, `${net}.podCIDR`]);
    assert.match(errors[0]?.message ?? '', /zone zone-a/);
    assert.match(errors[1]?.message ?? '', /zone zone-b/);
  });

  test('vSwitch outside the VPC; the fix is a free block inside it', () => {
    const result = check({}, { zones: [...seedVpc.zones, { name: 'zone-c', vswitchCIDR: '10.10.0.0/24' }] });
    const error = bySeverity(result.findings, 'error')[0];
    assert.equal(error?.field, 'spec.vpc.zones[2].vswitchCIDR');
    assert.equal(proposed(error), '192.168.2.0/24');
  });

  test('two vSwitches on one block; the later one is blamed', () => {
    const result = check({}, { zones: [{ name: 'zone-a', vswitchCIDR: '192.168.0.0/23' }, { name: 'zone-b', vswitchCIDR: '192.168.1.0/24' }] });
    assert.deepEqual(errorFields(result.findings), ['spec.vpc.zones[1].vswitchCIDR']);
    assert.equal(proposed(bySeverity(result.findings, 'error')[0]), '192.168.2.0/24');
  });

  test('a zone listed twice', () => {
    const result = check({}, { zones: [{ name: 'zone-a', vswitchCIDR: '192.168.0.0/24' }, { name: 'zone-a', vswitchCIDR: '192.168.1.0/24' }] });
    assert.deepEqual(errorFields(result.findings), ['spec.vpc.zones[1].name']);
  });

  const otherCases: [string, Partial<ClusterNetworkSpec>, string, RegExp][] = [
    ['pod CIDR vs their pod CIDR', { podCIDR: '10.0.0.0/16' }, `${net}.podCIDR`, /the pod CIDR of cluster prod-1/],
    ['pod CIDR vs their service CIDR', { podCIDR: '10.1.0.0/16' }, `${net}.podCIDR`, /the service CIDR of cluster prod-1/],
    ['service CIDR vs their pod CIDR', { serviceCIDR: '10.0.16.0/20' }, `${net}.serviceCIDR`, /the pod CIDR of cluster prod-1/],
    ['service CIDR vs their service CIDR', { serviceCIDR: '10.1.0.0/20' }, `${net}.serviceCIDR`, /the service CIDR of cluster prod-1/],
  ];
  for (const [name, network, field, message] of otherCases) {
    test(`another cluster in the VPC: ${name}`, () => {
      const errors = bySeverity(check(network, {}).findings, 'error');
      assert.deepEqual(errors.map((f) => f.field), [field]);
      assert.match(errors[0]?.message ?? '', message);
      const fix = parseCidr(proposed(errors[0]) ?? '');
      assert.ok(fix.ok);
      const ownOther = field.endsWith('podCIDR') ? seedNetwork.serviceCIDR : seedNetwork.podCIDR;
      for (const used of ['10.0.0.0/16', '10.1.0.0/20', '192.168.0.0/16', ownOther ?? '']) {
        const usedCidr = parseCidr(used);
        assert.ok(usedCidr.ok);
        assert.equal(cidrsOverlap(fix.cidr, usedCidr.cidr), false, `${proposed(errors[0])} overlaps ${used}`);
      }
    });
  }
});

describe('reserved and public ranges', () => {
  test('link-local is an error naming its RFC', () => {
    const error = bySeverity(check({ podCIDR: '169.254.0.0/16' }).findings, 'error')[0];
    assert.equal(error?.field, `${net}.podCIDR`);
    assert.match(error?.message ?? '', /link-local \(RFC 3927\)/);
  });

  test('IPv6 link-local is an error too', () => {
    const result = check({ podCIDR: 'fe80::/56', serviceCIDR: 'fd00:20::/112', podAddressesPerNode: undefined, nodeCIDRMaskSize: 64 });
    assert.deepEqual(errorFields(result.findings), [`${net}.podCIDR`]);
  });

  test('documentation ranges are a warning', () => {
    const result = check({ serviceCIDR: '192.0.2.0/24' });
    assert.deepEqual(errorFields(result.findings), []);
    assert.deepEqual(bySeverity(result.findings, 'warning').map((f) => f.field), [`${net}.serviceCIDR`]);
  });

  test('public IPv4 space is a warning; 100.64.0.0/10 is fine', () => {
    assert.deepEqual(bySeverity(check({ podCIDR: '8.8.0.0/16' }).findings, 'warning').map((f) => f.field), [`${net}.podCIDR`]);
    assert.deepEqual(bySeverity(check({ podCIDR: '100.96.0.0/16' }).findings, 'warning'), []);
  });

  test('a VPC in a reserved range is reported on the VPC', () => {
    assert.deepEqual(errorFields(check({}, { cidr: '169.254.0.0/16', zones: [] }).findings), ['spec.vpc.cidr']);
  });
});

describe('service CIDR size', () => {
  test('at most 20 host bits: /12 passes, /11 fails with a /12 fix', () => {
    assert.deepEqual(errorFields(check({ serviceCIDR: '10.16.0.0/12' }).findings), []);
    const error = bySeverity(check({ serviceCIDR: '10.0.0.0/11' }).findings, 'error')[0];
    assert.equal(error?.field, `${net}.serviceCIDR`);
    assert.match(error?.fix ?? '', /10\.0\.0\.0\/12/);
  });

  test('IPv6: /108 passes, /107 fails', () => {
    const v6 = { podCIDR: 'fd00:10::/56', podAddressesPerNode: undefined, nodeCIDRMaskSize: 64 };
    assert.deepEqual(errorFields(check({ ...v6, serviceCIDR: 'fd00:20::/108' }).findings), []);
    assert.deepEqual(errorFields(check({ ...v6, serviceCIDR: 'fd00:20::/107' }).findings), [`${net}.serviceCIDR`]);
  });

  test('a tiny service CIDR is a warning', () => {
    assert.deepEqual(bySeverity(check({ serviceCIDR: '172.19.0.0/29' }).findings, 'warning').map((f) => f.field), [`${net}.serviceCIDR`]);
  });
});

describe('address families', () => {
  test('pod and service CIDRs in different families', () => {
    assert.deepEqual(errorFields(check({ serviceCIDR: 'fd00:20::/112' }).findings), [`${net}.serviceCIDR`]);
  });

  test('an IPv6 cluster in an IPv4 VPC', () => {
    const result = check({ podCIDR: 'fd00:10::/56', serviceCIDR: 'fd00:20::/112', podAddressesPerNode: undefined, nodeCIDRMaskSize: 64 }, {});
    assert.deepEqual(errorFields(result.findings), [`${net}.podCIDR`]);
  });

  test('a vSwitch in another family than its VPC', () => {
    assert.deepEqual(errorFields(check({}, { zones: [{ name: 'zone-a', vswitchCIDR: 'fd00::/64' }] }).findings), ['spec.vpc.zones[0].vswitchCIDR']);
  });
});

describe('checkClusterNetworkAgainstVpc (for Cluster admission)', () => {
  const clusterObject = (name: string, podCIDR: unknown, serviceCIDR: unknown) => ({
    metadata: { name, namespace: 'tenants' },
    spec: { network: { podCIDR, serviceCIDR, nodeCIDRMaskSize: 24 } },
  });

  test('accepts a cluster whose ranges are unique in the VPC', () => {
    const findings = checkClusterNetworkAgainstVpc(clusterObject('b', '10.2.0.0/16', '10.3.0.0/20'), [clusterObject('a', '10.0.0.0/16', '10.1.0.0/20')]);
    assert.deepEqual(findings, []);
  });

  test('rejects a pod CIDR another Cluster uses, naming the Cluster field', () => {
    const findings = checkClusterNetworkAgainstVpc(clusterObject('b', '10.0.0.0/16', '10.3.0.0/20'), [clusterObject('a', '10.0.0.0/16', '10.1.0.0/20')]);
    assert.deepEqual(errorFields(findings), ['spec.network.podCIDR']);
    assert.match(findings[0]?.message ?? '', /cluster a/);
  });

  test('skips the cluster itself when the list includes it (an update)', () => {
    const self = clusterObject('a', '10.0.0.0/16', '10.1.0.0/20');
    assert.deepEqual(checkClusterNetworkAgainstVpc(self, [self]), []);
  });

  test('ignores other clusters whose ranges do not parse, and checks against the VPC when given', () => {
    const findings = checkClusterNetworkAgainstVpc(clusterObject('b', '192.168.0.0/16', '10.3.0.0/20'), [clusterObject('a', 'garbage', 42)], {
      cidr: '192.168.0.0/16',
      zones: [{ name: 'zone-a', vswitchCIDR: 'not-a-cidr' }],
    });
    assert.deepEqual(errorFields(findings), ['spec.network.podCIDR']);
    assert.match(findings[0]?.message ?? '', /VPC CIDR/);
  });

  test('runs the same syntax and size rules on the Cluster itself', () => {
    const findings = checkClusterNetworkAgainstVpc(clusterObject('b', '10.0.1.0/16', '10.0.0.0/8'), []);
    assert.deepEqual(errorFields(findings).sort(), ['spec.network.podCIDR', 'spec.network.serviceCIDR', 'spec.network.serviceCIDR'].sort());
    assert.ok(findings.every((f) => f.severity !== 'info'));
  });
});

test('following every fix gives distinct ranges: one proposal per field, none overlapping another', () => {
  const result = check(
    { podCIDR: '192.168.0.0/16', serviceCIDR: '192.168.240.0/20' },
    {
      zones: [
        { name: 'zone-a', vswitchCIDR: '192.168.0.0/24' },
        { name: 'zone-b', vswitchCIDR: '192.168.0.0/24' },
        { name: 'zone-c', vswitchCIDR: '10.10.0.0/24' },
      ],
      otherClusters: [{ name: 'prod-1', podCIDR: '192.168.0.0/16', serviceCIDR: '172.16.0.0/20' }],
    },
  );
  const byField = new Map<string, string>();
  for (const finding of bySeverity(result.findings, 'error')) {
    const cidr = proposed(finding);
    assert.ok(cidr, JSON.stringify(finding));
    assert.equal(byField.get(finding.field) ?? cidr, cidr, `${finding.field} got two different proposals`);
    byField.set(finding.field, cidr);
  }
  const blocks = [...byField.values()].map((text) => {
    const parsedBlock = parseCidr(text);
    assert.ok(parsedBlock.ok);
    return parsedBlock.cidr;
  });
  assert.equal(byField.size, 4);
  blocks.forEach((a, i) => blocks.slice(i + 1).forEach((b) => assert.equal(cidrsOverlap(a, b), false)));
  const theirService = parseCidr('172.16.0.0/20');
  assert.ok(theirService.ok);
  assert.ok(blocks.every((block) => !cidrsOverlap(block, theirService.cidr)));
});
