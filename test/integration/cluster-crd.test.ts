// The Cluster CRD on a real kube-apiserver: the API server itself applies the defaults and
// rejects bad input and changes to immutable fields, naming the field; status is a subresource;
// `kubectl get` has the printer columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { startTestApiServer } from '../harness/api-server.ts';
import { ApiError, isNotFound } from '../../src/controller/rest-client.ts';
import { clusterDefaults, withDefaults, type Cluster, type ClusterSpec } from '../../src/api/v1alpha1/cluster.ts';
import { clusterCrdFileName, clusterCrdName } from '../../src/api/v1alpha1/crd.ts';

const api = await startTestApiServer();
const clusters = '/apis/tessera.dev/v1alpha1/namespaces/default/clusters';

async function readYaml<T>(relativePath: string): Promise<T> {
  return parse(await readFile(new URL(`../../${relativePath}`, import.meta.url), 'utf8')) as T;
}

// Install the checked-in CRD, as `kubectl apply -f deploy/crds/` would, and wait until it serves.
await api.client.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', await readYaml(`deploy/crds/${clusterCrdFileName}`));
{
  const deadline = Date.now() + 30_000;
  for (;;) {
    const crd = await api.client.get<{ status?: { conditions?: Array<{ type: string; status: string; message?: string }> } }>(
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${clusterCrdName}`,
    );
    const conditions = crd.status?.conditions ?? [];
    if (conditions.some((condition) => condition.type === 'Established' && condition.status === 'True')) break;
    if (Date.now() > deadline) throw new Error(`CRD ${clusterCrdName} not Established after 30s: ${JSON.stringify(conditions)}`);
    await sleep(50);
  }
}

const clusterObject = (name: string, spec: Partial<ClusterSpec> = {}): Cluster => ({
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name },
  spec: { version: '1.37.2', ...spec },
});

/** Asserts a 422 Invalid whose message names `field` and matches `message`. */
async function assertInvalid(action: Promise<unknown>, field: string, message: RegExp): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    assert.ok(error instanceof ApiError, `expected an API error, got ${String(error)}`);
    assert.equal(error.status, 422, error.message);
    assert.equal(error.reason, 'Invalid', error.message);
    assert.ok(error.message.includes(`${field}:`), `the error names ${field}: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });
}

async function assertAbsent(name: string): Promise<void> {
  await assert.rejects(api.client.get(`${clusters}/${name}`), (error: unknown) => isNotFound(error), `${name} must not exist`);
}

/** Creates an invalid Cluster, expects the rejection, and checks nothing was stored. */
async function assertCreateRejected(name: string, spec: Partial<ClusterSpec>, field: string, message: RegExp): Promise<void> {
  await assertInvalid(api.client.create(`${clusters}`, clusterObject(name, spec)), field, message);
  await assertAbsent(name);
}

test('both examples are accepted and the API server fills in the schema defaults', async () => {
  for (const file of ['examples/cluster-minimal.yaml', 'examples/cluster-standard.yaml']) {
    const example = await readYaml<Cluster>(file);
    // Server-side apply, as `kubectl apply --server-side` sends it.
    await api.client.apply(`${clusters}/${example.metadata.name}`, example, 'cluster-crd-test');
    const stored = await api.client.get<Cluster>(`${clusters}/${example.metadata.name}`);
    assert.equal(stored.spec.clusterType ?? '', 'Managed', `${file}: clusterType defaulted`);
    assert.deepEqual(withDefaults(stored.spec), withDefaults(example.spec), `${file}: the server's defaults agree with withDefaults()`);
  }

  const minimal = await api.client.get<Cluster>(`${clusters}/minimal`);
  assert.equal(minimal.spec.mode, 'Minimal');
  assert.deepEqual(minimal.spec.network, clusterDefaults.network, 'the whole network block is defaulted, so kubectl get shows it');
  assert.deepEqual(minimal.spec.certificates, clusterDefaults.certificates);
  assert.deepEqual(minimal.spec.users, [{ name: 'auditor', groups: ['tessera:viewers'] }]);

  const standard = await api.client.get<Cluster>(`${clusters}/standard`);
  assert.equal(standard.spec.mode, 'Standard');
  assert.equal(standard.spec.network?.podCIDR, '10.200.0.0/16');
  assert.deepEqual(standard.spec.addons, [
    { name: 'coredns', enabled: true },
    { name: 'kube-proxy', enabled: true },
  ]);

  await api.client.create(clusters, clusterObject('bare'));
  const bare = await api.client.get<Cluster>(`${clusters}/bare`);
  assert.equal(bare.spec.mode, 'Standard', 'mode defaults to Standard');
});

test('changing or removing an immutable field is rejected with a 422 naming the field, and nothing changes', async () => {
  await api.client.create(
    clusters,
    clusterObject('immutable', { clusterType: 'Dedicated', network: { podCIDR: '10.200.0.0/16', serviceCIDR: '10.201.0.0/20', nodeCIDRMaskSize: 24, proxyMode: 'iptables', plugin: 'none' } }),
  );
  const path = `${clusters}/immutable`;
  const before = await api.client.get<Cluster>(path);

  await assertInvalid(api.client.patch(path, { spec: { network: { podCIDR: '10.210.0.0/16' } } }, 'merge'), 'spec.network.podCIDR', /spec\.network\.podCIDR is immutable: create a new Cluster to change it/);
  const changes: Array<[string, unknown]> = [
    ['spec.network.serviceCIDR', { network: { serviceCIDR: '10.202.0.0/20' } }],
    ['spec.network.nodeCIDRMaskSize', { network: { nodeCIDRMaskSize: 25 } }],
    ['spec.network.proxyMode', { network: { proxyMode: 'ipvs' } }],
    ['spec.network.plugin', { network: { plugin: 'calico' } }],
    ['spec.clusterType', { clusterType: 'Managed' }],
  ];
  for (const [field, spec] of changes) {
    await assertInvalid(api.client.patch(path, { spec }, 'merge'), field, new RegExp(`${field.replaceAll('.', '\\.')} is immutable`));
  }
  // Removing a field (or the whole network) is a change too: the default would replace the value.
  await assertInvalid(api.client.patch(path, [{ op: 'remove', path: '/spec/network/podCIDR' }], 'json'), 'spec.network.podCIDR', /is immutable/);
  await assertInvalid(api.client.patch(path, [{ op: 'remove', path: '/spec/network' }], 'json'), 'spec.network.serviceCIDR', /is immutable/);
  await assertInvalid(api.client.patch(path, [{ op: 'remove', path: '/spec/clusterType' }], 'json'), 'spec.clusterType', /is immutable/);

  const after = await api.client.get<Cluster>(path);
  assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'no rejected write was stored');

  // Mutable fields still change.
  await api.client.patch(path, { spec: { mode: 'Minimal', version: '1.36.3', network: { clusterDomain: 'guest.local' } } }, 'merge');
  const changed = await api.client.get<Cluster>(path);
  assert.equal(changed.spec.mode, 'Minimal');
  assert.equal(changed.spec.network?.clusterDomain, 'guest.local');
});

test('a malformed version is rejected naming spec.version and the expected form', async () => {
  for (const version of ['v1.37.2', '1.37', '1.37.2-rc.0', '2.0.0', 'latest']) {
    await assertCreateRejected('bad-version', { version }, 'spec.version', /spec\.version must be a Kubernetes release as 1\.MINOR\.PATCH without a leading v, e.g\. 1\.37\.2/);
  }
  await api.client.create(clusters, clusterObject('version-update'));
  await assertInvalid(api.client.patch(`${clusters}/version-update`, { spec: { version: 'v1.38.0' } }, 'merge'), 'spec.version', /spec\.version must be/);
  await assertInvalid(
    api.client.patch(`${clusters}/version-update`, { spec: { controlPlane: { etcd: { version: 'v3.7' } } } }, 'merge'),
    'spec.controlPlane.etcd.version',
    /spec\.controlPlane\.etcd\.version must be MAJOR\.MINOR\.PATCH/,
  );
});

test('invalid CIDRs are rejected naming the field', async () => {
  const podCIDR = /spec\.network\.podCIDR must be a CIDR with no host bits set, e.g\. 10\.244\.0\.0\/16/;
  await assertCreateRejected('bad-cidr', { network: { podCIDR: 'not-a-cidr' } }, 'spec.network.podCIDR', podCIDR);
  await assertCreateRejected('bad-cidr', { network: { podCIDR: '10.244.0.0/33' } }, 'spec.network.podCIDR', podCIDR);
  await assertCreateRejected('bad-cidr', { network: { podCIDR: '10.244.1.0/16' } }, 'spec.network.podCIDR', podCIDR);
  await assertCreateRejected('bad-cidr', { network: { serviceCIDR: '10.96.0.1' } }, 'spec.network.serviceCIDR', /spec\.network\.serviceCIDR must be a CIDR/);
  await assertCreateRejected('bad-cidr', { network: { serviceCIDR: '10.0.0.0/8', podCIDR: '172.16.0.0/16' } }, 'spec.network.serviceCIDR', /serviceCIDR is too large/);
  await assertCreateRejected('bad-cidr', { network: { podCIDR: '10.0.0.0/8' } }, 'spec.network.serviceCIDR', /serviceCIDR 10\.96\.0\.0\/12 overlaps spec\.network\.podCIDR 10\.0\.0\.0\/8/);
  await assertCreateRejected('bad-cidr', { network: { podCIDR: 'fd00:10::/56' } }, 'spec.network.serviceCIDR', /both be IPv4 or both be IPv6/);
  await assertCreateRejected('bad-cidr', { network: { podCIDR: '10.244.0.0/16', nodeCIDRMaskSize: 16 } }, 'spec.network.nodeCIDRMaskSize', /longer than the podCIDR prefix by 1 to 16 bits/);
  // IPv6 on both sides is fine.
  await api.client.create(clusters, clusterObject('ipv6', { network: { podCIDR: 'fd00:10::/56', serviceCIDR: 'fd00:20::/112', nodeCIDRMaskSize: 64 } }));
});

test('etcd storage with both or neither of claimTemplate and volumeSource is rejected', async () => {
  const message = /spec\.controlPlane\.etcd\.storage must set exactly one of claimTemplate or volumeSource/;
  await assertCreateRejected('bad-storage', { controlPlane: { etcd: { storage: { claimTemplate: { size: '1Gi' }, volumeSource: { emptyDir: {} } } } } }, 'spec.controlPlane.etcd.storage', message);
  await assertCreateRejected('bad-storage', { controlPlane: { etcd: { storage: {} } } }, 'spec.controlPlane.etcd.storage', message);
  await api.client.create(clusters, clusterObject('volume-storage', { controlPlane: { etcd: { storage: { volumeSource: { emptyDir: { medium: 'Memory' } } } } } }));
  const stored = await api.client.get<Cluster>(`${clusters}/volume-storage`);
  assert.deepEqual(stored.spec.controlPlane?.etcd?.storage, { volumeSource: { emptyDir: { medium: 'Memory' } } }, 'the embedded VolumeSource is kept as given');
  // No size: the schema default fills it in (the TypeScript type, which is the stored shape, requires it).
  await api.client.create(clusters, { ...clusterObject('claim-storage'), spec: { version: '1.37.2', controlPlane: { etcd: { storage: { claimTemplate: { storageClassName: 'fast' } } } } } });
  const claim = await api.client.get<Cluster>(`${clusters}/claim-storage`);
  assert.deepEqual(claim.spec.controlPlane?.etcd?.storage, { claimTemplate: { storageClassName: 'fast', size: '1Gi' } }, 'the claim size defaults to 1Gi');
});

test('a renewal window not shorter than the validity, or a malformed duration, is rejected', async () => {
  await assertCreateRejected('bad-certs', { certificates: { validity: '1h' } }, 'spec.certificates.renewBefore', /spec\.certificates\.renewBefore \(720h\) must be shorter than spec\.certificates\.validity \(1h\)/);
  await assertCreateRejected('bad-certs', { certificates: { validity: '1h', renewBefore: '60m' } }, 'spec.certificates.renewBefore', /must be shorter than spec\.certificates\.validity/);
  await assertCreateRejected('bad-certs', { certificates: { validity: '10d' } }, 'spec.certificates.validity', /spec\.certificates\.validity must be a positive Go duration/);
  await assertCreateRejected('bad-certs', { certificates: { validity: '1000000h' } }, 'spec.certificates.validity', /must not be longer than spec\.certificates\.caValidity/);
  await api.client.create(clusters, clusterObject('short-certs', { certificates: { validity: '10m', renewBefore: '4m' } }));
});

test('duplicate user names are rejected naming the user', async () => {
  await assertCreateRejected(
    'bad-users',
    { users: [{ name: 'alice' }, { name: 'bob', groups: ['dev'] }, { name: 'alice', groups: ['ops'] }] },
    'spec.users',
    /spec\.users: the name alice appears more than once; user names must be unique/,
  );
  await assertCreateRejected('bad-users', { users: [{ name: 'Alice Smith' }] }, 'spec.users[0].name', /spec\.users\[\]\.name must be lowercase/);
});

test('component overrides are checked: flag names without dashes, quantities as resources', async () => {
  await assertCreateRejected('bad-args', { controlPlane: { apiServer: { extraArgs: { '--v': '4' } } } }, 'spec.controlPlane.apiServer.extraArgs', /keys are flag names without leading dashes/);
  await assertCreateRejected('bad-args', { controlPlane: { scheduler: { resources: { limits: { memory: 'lots' } } } } }, 'spec.controlPlane.scheduler.resources.limits[memory]', /must be Kubernetes quantities/);
});

test('a Cluster name that cannot prefix its owned objects is rejected', async () => {
  await assertInvalid(api.client.create(clusters, clusterObject('a'.repeat(40))), 'metadata.name', /metadata\.name must be at most 39/);
  await assertInvalid(api.client.create(clusters, clusterObject('1st')), 'metadata.name', /start with a letter/);
  await assertAbsent('1st');
});

test('a rejected create leaves nothing behind', async () => {
  await assertCreateRejected('half-made', { version: 'v1', network: { podCIDR: 'x' } }, 'spec.version', /spec\.version must be/);
  const list = await api.client.get<{ items: Cluster[] }>(clusters);
  const names = list.items.map((item) => item.metadata.name);
  for (const rejected of ['half-made', 'bad-version', 'bad-cidr', 'bad-storage', 'bad-certs', 'bad-users', 'bad-args', '1st']) {
    assert.ok(!names.includes(rejected), `${rejected} must not be stored (have ${names.join(', ')})`);
  }
});

test('status is a subresource: spec writes leave status alone and status writes leave spec alone', async () => {
  const path = `${clusters}/status-check`;
  await api.client.create(clusters, { ...clusterObject('status-check'), status: { phase: 'Ready' } });
  const created = await api.client.get<Cluster>(path);
  assert.equal(created.status, undefined, 'status sent with a create is dropped');

  const status = {
    phase: 'Ready',
    observedGeneration: 1,
    endpoint: 'https://status-check-kube-apiserver.default.svc:6443',
    conditions: [{ type: 'Ready', status: 'True', reason: 'APIServerAnswers', message: '/readyz answered ok', lastTransitionTime: '2026-11-23T10:00:00Z', observedGeneration: 1 }],
  };
  await api.client.patch(`${path}/status`, { status, spec: { mode: 'Minimal' } }, 'merge');
  const afterStatus = await api.client.get<Cluster>(path);
  assert.deepEqual(afterStatus.status, status);
  assert.equal(afterStatus.spec.mode, 'Standard', 'a status write does not change spec');
  assert.equal(afterStatus.metadata.generation, 1, 'a status write does not bump generation');

  await api.client.patch(path, { spec: { mode: 'Minimal' }, status: { phase: 'Degraded' } }, 'merge');
  const afterSpec = await api.client.get<Cluster>(path);
  assert.equal(afterSpec.spec.mode, 'Minimal');
  assert.deepEqual(afterSpec.status, status, 'a spec write does not change status');
  assert.equal(afterSpec.metadata.generation, 2);

  await assertInvalid(api.client.patch(`${path}/status`, { status: { phase: 'Exploded' } }, 'merge'), 'status.phase', /Unsupported value: "Exploded"/);
});

type Table = { columnDefinitions: Array<{ name: string; priority: number }>; rows: Array<{ cells: unknown[]; object: { metadata: { name: string } } }> };

/** GET as a server-side Table, the way kubectl asks for printer columns. */
async function getTable(path: string): Promise<Table> {
  const options: RequestOptions = {};
  await api.kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, api.url), { ...options, headers: { ...options.headers, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode !== 200) reject(new Error(`GET ${path} as Table: ${response.statusCode} ${text}`));
        else resolve(JSON.parse(text) as Table);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('kubectl get shows version, mode, phase, ready, endpoint and age columns', async () => {
  const path = `${clusters}/columns`;
  await api.client.create(clusters, clusterObject('columns', { mode: 'Minimal' }));
  await api.client.patch(
    `${path}/status`,
    {
      status: {
        phase: 'Provisioning',
        endpoint: 'https://columns-kube-apiserver.default.svc:6443',
        conditions: [
          { type: 'EtcdReady', status: 'True', reason: 'MembersHealthy', message: '1/1 members', lastTransitionTime: '2026-11-23T10:00:00Z' },
          { type: 'Ready', status: 'False', reason: 'APIServerStarting', message: 'waiting for /readyz', lastTransitionTime: '2026-11-23T10:00:00Z' },
        ],
      },
    },
    'merge',
  );
  const table = await getTable(path);
  assert.deepEqual(
    table.columnDefinitions.map((column) => column.name),
    ['Name', 'Version', 'Mode', 'Type', 'Phase', 'Ready', 'Endpoint', 'Age'],
  );
  assert.equal(table.columnDefinitions.find((column) => column.name === 'Type')?.priority, 1, 'Type only with -o wide');
  const [row] = table.rows;
  assert.ok(row);
  assert.deepEqual(row.cells.slice(0, 7), ['columns', '1.37.2', 'Minimal', 'Managed', 'Provisioning', 'False', 'https://columns-kube-apiserver.default.svc:6443']);
  assert.match(String(row.cells[7]), /^\d+s$/, 'Age is a duration since creation');
});
