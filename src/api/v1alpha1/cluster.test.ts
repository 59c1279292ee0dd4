import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import {
  ClusterSchema,
  DEFAULT_COREDNS_VERSION,
  parseDuration,
  withDefaults,
  type Cluster,
  type ClusterCondition,
  type ClusterSpec,
  type ClusterStatus,
  type ComponentSpec,
  type DefaultedClusterSpec,
  type Duration,
  type EtcdStorage,
} from './cluster.ts';

// --- The contract (docs/cluster-api-contract.md), checked by `tsc`: each exported type must be
// assignable both ways to the shape other modules code against.
type ContractComponentSpec = {
  version?: string;
  extraArgs?: Record<string, string>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
};
type ContractEtcdStorage = { claimTemplate?: { storageClassName?: string; size: string }; volumeSource?: Record<string, unknown> };
type ContractClusterSpec = {
  version: string;
  paused?: boolean;
  mode?: 'Standard' | 'Minimal';
  clusterType?: 'Managed' | 'Dedicated' | 'Serverless';
  controlPlane?: {
    placement?: { nodeSelector?: Record<string, string>; tolerations?: Array<Record<string, unknown>>; spreadAcrossZones?: boolean };
    apiServer?: ContractComponentSpec;
    controllerManager?: ContractComponentSpec;
    scheduler?: ContractComponentSpec;
    etcd?: ContractComponentSpec & { storage?: ContractEtcdStorage };
  };
  network?: {
    podCIDR?: string;
    serviceCIDR?: string;
    nodeCIDRMaskSize?: number;
    proxyMode?: 'iptables' | 'ipvs';
    plugin?: 'none' | 'flannel' | 'calico';
    vpc?: string;
    clusterDomain?: string;
  };
  certificates?: { validity?: string; renewBefore?: string; caValidity?: string };
  users?: Array<{ name: string; groups?: string[]; validity?: string }>;
  addons?: Array<{ name: 'coredns' | 'kube-proxy'; version?: string; enabled?: boolean }>;
};
type ContractClusterCondition = {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
};
type ContractClusterStatus = {
  phase?: 'Pending' | 'Provisioning' | 'Ready' | 'Degraded' | 'Upgrading' | 'Deleting';
  conditions?: ContractClusterCondition[];
  observedGeneration?: number;
  endpoint?: string;
  versions?: { apiServer?: string; controllerManager?: string; scheduler?: string; etcd?: string };
  etcdMembers?: Array<{ name: string; id?: string; ready: boolean }>;
  certificates?: { notAfter?: string; caNotAfter?: string; renewAt?: string };
  tier?: string;
  adminKubeconfigSecret?: string;
};
type ContractCluster = {
  apiVersion: 'tessera.dev/v1alpha1';
  kind: 'Cluster';
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  spec: ContractClusterSpec;
  status?: ContractClusterStatus;
};
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const contractHolds: [
  Same<ComponentSpec, ContractComponentSpec>,
  Same<EtcdStorage, ContractEtcdStorage>,
  Same<ClusterSpec, ContractClusterSpec>,
  Same<ClusterCondition, ContractClusterCondition>,
  Same<ClusterStatus, ContractClusterStatus>,
  Same<Cluster, ContractCluster>,
  Same<Duration, string>,
  DefaultedClusterSpec extends ClusterSpec ? true : false,
] = [true, true, true, true, true, true, true, true];

test('the exported types match the contract other modules code against', () => {
  assert.ok(contractHolds.every(Boolean)); // the real check is `tsc`
});

test('withDefaults fills every default of an empty spec', () => {
  const spec = withDefaults({ version: '1.37.2' });
  assert.deepEqual(spec, {
    version: '1.37.2',
    paused: false,
    mode: 'Standard',
    clusterType: 'Managed',
    controlPlane: {
      placement: { nodeSelector: {}, tolerations: [], spreadAcrossZones: true },
      apiServer: { version: '1.37.2', extraArgs: {} },
      controllerManager: { version: '1.37.2', extraArgs: {} },
      scheduler: { version: '1.37.2', extraArgs: {} },
      etcd: { extraArgs: {}, storage: { claimTemplate: { size: '1Gi' } } },
    },
    network: { podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', nodeCIDRMaskSize: 24, proxyMode: 'iptables', plugin: 'none', clusterDomain: 'cluster.local' },
    certificates: { validity: '8760h', renewBefore: '720h', caValidity: '87600h' },
    users: [],
    addons: [
      { name: 'coredns', version: DEFAULT_COREDNS_VERSION, enabled: true },
      { name: 'kube-proxy', version: '1.37.2', enabled: true },
    ],
  } satisfies DefaultedClusterSpec);
});

test('withDefaults keeps what the spec sets and fills only the gaps', () => {
  const spec: ClusterSpec = {
    version: '1.36.3',
    mode: 'Minimal',
    controlPlane: {
      placement: { nodeSelector: { 'tessera.dev/pool': 'masters' } },
      apiServer: { version: '1.37.2', extraArgs: { v: '4' }, resources: { requests: { cpu: '1' } } },
      etcd: { version: '3.7.3', storage: { claimTemplate: { storageClassName: 'fast', size: '5Gi' } } },
    },
    network: { podCIDR: '10.200.0.0/16', vpc: 'vpc-a' },
    certificates: { validity: '1h', renewBefore: '20m' },
    users: [{ name: 'auditor', groups: ['tessera:viewers'] }, { name: 'bot', validity: '30m' }],
    addons: [{ name: 'kube-proxy', enabled: false }],
    paused: true,
  };
  const defaulted = withDefaults(spec);
  assert.equal(defaulted.mode, 'Minimal');
  assert.deepEqual(defaulted.controlPlane.placement, { nodeSelector: { 'tessera.dev/pool': 'masters' }, tolerations: [], spreadAcrossZones: true });
  assert.deepEqual(defaulted.controlPlane.apiServer, { version: '1.37.2', extraArgs: { v: '4' }, resources: { requests: { cpu: '1' } } });
  assert.equal(defaulted.controlPlane.scheduler.version, '1.36.3', 'components follow spec.version unless overridden');
  assert.deepEqual(defaulted.controlPlane.etcd, { version: '3.7.3', extraArgs: {}, storage: { claimTemplate: { storageClassName: 'fast', size: '5Gi' } } });
  assert.equal(defaulted.network.podCIDR, '10.200.0.0/16');
  assert.equal(defaulted.network.serviceCIDR, '10.96.0.0/12');
  assert.equal(defaulted.network.vpc, 'vpc-a');
  assert.deepEqual(defaulted.certificates, { validity: '1h', renewBefore: '20m', caValidity: '87600h' });
  assert.equal(defaulted.paused, true);
  assert.deepEqual(defaulted.users, [
    { name: 'auditor', groups: ['tessera:viewers'], validity: '24h' },
    { name: 'bot', groups: [], validity: '30m' },
  ]);
  assert.deepEqual(defaulted.addons, [
    { name: 'coredns', version: DEFAULT_COREDNS_VERSION, enabled: true },
    { name: 'kube-proxy', version: '1.36.3', enabled: false },
  ]);
});

test('withDefaults shares nothing with its input', () => {
  const spec: ClusterSpec = {
    version: '1.37.2',
    controlPlane: { placement: { tolerations: [{ key: 'k', operator: 'Exists' }] }, etcd: { storage: { volumeSource: { emptyDir: {} } } } },
    users: [{ name: 'a', groups: ['g'] }],
  };
  const defaulted = withDefaults(spec);
  defaulted.controlPlane.placement.tolerations[0]!['key'] = 'changed';
  defaulted.users[0]!.groups.push('h');
  (defaulted.controlPlane.etcd.storage.volumeSource as Record<string, unknown>)['emptyDir'] = { medium: 'Memory' };
  assert.deepEqual(spec.controlPlane?.placement?.tolerations, [{ key: 'k', operator: 'Exists' }]);
  assert.deepEqual(spec.users, [{ name: 'a', groups: ['g'] }]);
  assert.deepEqual(spec.controlPlane?.etcd?.storage, { volumeSource: { emptyDir: {} } });
});

test('withDefaults keeps a volumeSource as the only etcd storage and refuses both kinds at once', () => {
  const defaulted = withDefaults({ version: '1.37.2', controlPlane: { etcd: { storage: { volumeSource: { emptyDir: {} } } } } });
  assert.deepEqual(defaulted.controlPlane.etcd.storage, { volumeSource: { emptyDir: {} } });
  assert.throws(
    () => withDefaults({ version: '1.37.2', controlPlane: { etcd: { storage: { volumeSource: { emptyDir: {} }, claimTemplate: { size: '1Gi' } } } } }),
    /spec\.controlPlane\.etcd\.storage must set exactly one of claimTemplate or volumeSource/,
  );
});

test('parseDuration reads Go durations into milliseconds', () => {
  assert.equal(parseDuration('8760h'), 8760 * 3_600_000);
  assert.equal(parseDuration('30m'), 1_800_000);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1500us'), 1.5);
  assert.equal(parseDuration('2µs'), 0.002);
  assert.equal(parseDuration('0s'), 0);
});

test('parseDuration rejects what the CRD rejects, naming the value and the expected form', () => {
  for (const bad of ['', '10', 'h', '1d', '-1h', '1h 30m', ' 1h', '1.h', 'abc']) {
    assert.throws(() => parseDuration(bad), (error: Error) => {
      assert.ok(error.message.includes(JSON.stringify(bad)), error.message);
      assert.match(error.message, /expected a Go duration such as "8760h"/);
      return true;
    });
  }
});

test('both examples are valid Cluster objects for the TypeBox schema', async () => {
  for (const file of ['cluster-minimal.yaml', 'cluster-standard.yaml']) {
    const cluster: unknown = parse(await readFile(new URL(`../../../examples/${file}`, import.meta.url), 'utf8'));
    assert.ok(Value.Check(ClusterSchema, cluster), `${file}: ${[...Value.Errors(ClusterSchema, cluster)].map((e) => `${e.path} ${e.message}`).join('; ')}`);
  }
});
