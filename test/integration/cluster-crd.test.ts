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
import { type Cluster, type ClusterSpec } from '../../src/api/v1alpha1/cluster.ts';
import { PROTECTED_FLAGS, type ControlPlaneComponentName } from '../../src/api/v1alpha1/protected-flags.ts';
import { clusterCrdFileName, clusterCrdName } from '../../src/api/v1alpha1/crd.ts';
import { fleetView, fleetViewOf, guestFieldsFromTable, type ClusterTable } from '../../src/operators/placement/fleet-view.ts';

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
  }

  // What the server stores, written out: a default missing from the schema (or a wrong one) fails here.
  const minimal = await api.client.get<Cluster>(`${clusters}/minimal`);
  assert.deepEqual(minimal.spec, {
    version: '1.37.2',
    mode: 'Minimal',
    paused: false,
    clusterType: 'Managed',
    network: { podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', nodeCIDRMaskSize: 24, proxyMode: 'iptables', plugin: 'none', clusterDomain: 'cluster.local' },
    certificates: { validity: '8760h', renewBefore: '720h', caValidity: '87600h' },
    users: [{ name: 'auditor', groups: ['tessera:viewers'], validity: '24h' }],
  });

  const standard = await api.client.get<Cluster>(`${clusters}/standard`);
  assert.deepEqual(standard.spec, {
    version: '1.37.2',
    mode: 'Standard',
    paused: false,
    clusterType: 'Managed',
    controlPlane: {
      placement: { spreadAcrossZones: true },
      apiServer: { extraArgs: { 'audit-log-maxage': '7' }, resources: { requests: { cpu: '250m', memory: '512Mi' } } },
      controllerManager: { resources: { requests: { cpu: '100m', memory: '256Mi' } } },
      scheduler: { resources: { requests: { cpu: '50m', memory: '128Mi' } } },
      etcd: { storage: { claimTemplate: { size: '2Gi' } }, resources: { requests: { cpu: '100m', memory: '256Mi' } } },
    },
    network: { podCIDR: '10.200.0.0/16', serviceCIDR: '10.201.0.0/20', nodeCIDRMaskSize: 24, proxyMode: 'iptables', plugin: 'none', clusterDomain: 'cluster.local' },
    certificates: { validity: '8760h', renewBefore: '720h', caValidity: '87600h' },
    users: [
      { name: 'operator', groups: ['tessera:operators'], validity: '24h' },
      { name: 'auditor', groups: ['tessera:viewers'], validity: '24h' },
    ],
    addons: [
      { name: 'coredns', enabled: true },
      { name: 'kube-proxy', enabled: true },
    ],
  });

  await api.client.create(clusters, clusterObject('bare'));
  const bare = await api.client.get<Cluster>(`${clusters}/bare`);
  assert.deepEqual(bare.spec, {
    version: '1.37.2',
    mode: 'Standard',
    paused: false,
    clusterType: 'Managed',
    network: { podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', nodeCIDRMaskSize: 24, proxyMode: 'iptables', plugin: 'none', clusterDomain: 'cluster.local' },
    certificates: { validity: '8760h', renewBefore: '720h', caValidity: '87600h' },
  });
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
  // Well-formed but unsupported releases (2.0.0, 1.34.0) pass here: the operator's catalogue refuses them with a condition.
  for (const version of ['v1.37.2', '1.37', '1.37.2-rc.0', 'latest']) {
    await assertCreateRejected('bad-version', { version }, 'spec.version', /spec\.version must be MAJOR\.MINOR\.PATCH without a leading v, e\.g\. 1\.37\.2/);
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

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Sends the Cluster as a server-side dry run (`kubectl create --dry-run=server`): validated in full, never stored. */
function dryRunCreate(name: string, spec: Partial<ClusterSpec>): Promise<unknown> {
  return api.client.create(clusters, clusterObject(name, spec), { dryRun: 'All' });
}

// The three Clusters a platform must refuse that the API server used to accept.
test('a user in a system: group is refused naming spec.users[].groups: no RBAC change could take that certificate back', async () => {
  const message = /spec\.users\[\]\.groups: system:masters must not start with "system:": .*a certificate cannot be revoked.*use a group such as tessera:admins/;
  await assertInvalid(dryRunCreate('masters', { users: [{ name: 'mallory', groups: ['tessera:viewers', 'system:masters'] }] }), 'spec.users[0].groups[1]', message);
  await assertInvalid(dryRunCreate('nodes', { users: [{ name: 'ok' }, { name: 'kubelet', groups: ['system:nodes'] }] }), 'spec.users[1].groups[0]', /must not start with "system:"/);
  await assertAbsent('masters');
  // Groups RBAC binds, and groups that merely contain "system", are fine.
  await dryRunCreate('groups-ok', { users: [{ name: 'alice', groups: ['tessera:admins', 'ops-system:oncall'] }] });
  await assertAbsent('groups-ok');
});

test('an extraArgs override of a flag the platform owns is refused naming the flag and the fix', async () => {
  await assertInvalid(
    dryRunCreate('always-allow', { controlPlane: { apiServer: { extraArgs: { 'authorization-mode': 'AlwaysAllow' } } } }),
    'spec.controlPlane.apiServer.extraArgs',
    /spec\.controlPlane\.apiServer\.extraArgs\.authorization-\*: every flag starting with authorization- is set by Tessera: authentication and authorization are the platform's.*Remove it from extraArgs/,
  );
  await assertInvalid(
    dryRunCreate('etcd-peer', { controlPlane: { etcd: { extraArgs: { 'peer-client-cert-auth': 'false', 'quota-backend-bytes': '4294967296' } } } }),
    'spec.controlPlane.etcd.extraArgs',
    /spec\.controlPlane\.etcd\.extraArgs\.peer-\*: every flag starting with peer- is set by Tessera: members and their clients prove who they are/,
  );
  await assertInvalid(
    dryRunCreate('no-node-restriction', { controlPlane: { apiServer: { extraArgs: { 'disable-admission-plugins': 'NodeRestriction' } } } }),
    'spec.controlPlane.apiServer.extraArgs',
    /disable-admission-plugins must not disable NodeRestriction, ServiceAccount, NamespaceLifecycle/,
  );
  await assertInvalid(
    dryRunCreate('replaced-plugins', { controlPlane: { apiServer: { extraArgs: { 'enable-admission-plugins': 'AlwaysPullImages' } } } }),
    'spec.controlPlane.apiServer.extraArgs',
    /enable-admission-plugins must include NodeRestriction/,
  );
  // Every protected name (a prefix stands for its flags) is refused on its component by the server itself.
  const components: Record<ControlPlaneComponentName, string> = { apiServer: 'apiServer', controllerManager: 'controllerManager', scheduler: 'scheduler', etcd: 'etcd' };
  for (const component of Object.keys(components) as ControlPlaneComponentName[]) {
    for (const entry of PROTECTED_FLAGS[component]) {
      const prefix = entry.endsWith('*') ? entry.slice(0, -1) : undefined;
      const flag = prefix === undefined ? entry : `${prefix}x`;
      const named = `spec.controlPlane.${component}.extraArgs.${prefix === undefined ? `${entry} is` : `${entry}: every flag starting with ${prefix} is`} set by Tessera`;
      await assertInvalid(dryRunCreate('protected', { controlPlane: { [component]: { extraArgs: { [flag]: 'value' } } } }), `spec.controlPlane.${component}.extraArgs`, new RegExp(escapeRegExp(named)));
    }
  }
  // Tuning stays possible.
  await dryRunCreate('tuned', {
    controlPlane: {
      apiServer: { extraArgs: { v: '4', 'max-requests-inflight': '800', 'enable-admission-plugins': 'NodeRestriction,AlwaysPullImages', 'disable-admission-plugins': 'DefaultStorageClass' } },
      controllerManager: { extraArgs: { 'node-monitor-grace-period': '40s' } },
      scheduler: { extraArgs: { v: '2' } },
      etcd: { extraArgs: { 'quota-backend-bytes': '4294967296' } },
    },
  });
  await assertAbsent('tuned');
});

test('an extraArgs value with a control character is refused naming the flag', async () => {
  for (const [component, value] of [
    ['apiServer', '/var/log/audit.log\n--authorization-mode=AlwaysAllow'],
    ['controllerManager', '4\t'],
    ['scheduler', 'a\u0000b'],
    ['etcd', 'info\u0085'],
  ] as const) {
    await assertInvalid(
      dryRunCreate('newline', { controlPlane: { [component]: { extraArgs: { 'log-file': value } } } }),
      `spec.controlPlane.${component}.extraArgs[log-file]`,
      new RegExp(`spec\\.controlPlane\\.${component}\\.extraArgs values must not contain control characters \\(newline, tab, NUL and the like\\)`),
    );
  }
  await assertAbsent('newline');
});

test('spec.paused and spec.users[].validity are defaulted and checked', async () => {
  await assertInvalid(dryRunCreate('bad-validity', { users: [{ name: 'alice', validity: '1d' }] }), 'spec.users[0].validity', /spec\.users\[\]\.validity must be a positive Go duration/);
  await assertInvalid(dryRunCreate('bad-validity', { users: [{ name: 'alice', validity: '0s' }] }), 'spec.users[0].validity', /must be a positive Go duration/);
  const created = await api.client.create<Cluster>(clusters, clusterObject('paused', { paused: true, users: [{ name: 'alice', validity: '15m' }, { name: 'bob' }] }));
  assert.equal(created.spec.paused, true);
  assert.deepEqual(created.spec.users, [
    { name: 'alice', validity: '15m' },
    { name: 'bob', validity: '24h' },
  ]);
  await api.client.patch(`${clusters}/paused`, { spec: { paused: false } }, 'merge');
  assert.equal((await api.client.get<Cluster>(`${clusters}/paused`)).spec.paused, false, 'unpausing is a plain spec change');
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
    ['Name', 'Version', 'Mode', 'Type', 'Phase', 'Ready', 'Endpoint', 'Age', 'Namespace', 'Cell', 'Region', 'Placed', 'Running', 'Tier', 'Pinned', 'Load', 'Certificates'],
  );
  assert.deepEqual(table.columnDefinitions.filter((column) => !column.priority).map((column) => column.name), ['Name', 'Version', 'Mode', 'Phase', 'Ready', 'Endpoint', 'Age'], 'the fleet columns only with -o wide');
  assert.equal(table.columnDefinitions.find((column) => column.name === 'Type')?.priority, 1, 'Type only with -o wide');
  const [row] = table.rows;
  assert.ok(row);
  assert.deepEqual(row.cells.slice(0, 7), ['columns', '1.37.2', 'Minimal', 'Managed', 'Provisioning', 'False', 'https://columns-kube-apiserver.default.svc:6443']);
  assert.match(String(row.cells[7]), /^\d+s$/, 'Age is a duration since creation');
});

test('tessera fleet reads the same guest rows from the server-side Table as from the objects', async () => {
  const fleetPath = '/apis/tessera.dev/v1alpha1/namespaces/fleet-view/clusters';
  await api.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fleet-view' } });
  const statuses: Record<string, Record<string, unknown>> = {
    placed: { phase: 'Ready', cell: 'cell-a', tier: 'M', versions: { apiServer: '1.37.2' }, load: { score: 41.5 }, certificates: { notAfter: '2027-12-06T12:00:00Z' }, conditions: [{ type: 'Ready', status: 'True', reason: 'AllTrue', message: 'ok', lastTransitionTime: '2026-12-06T12:00:00Z' }] },
    unplaced: { conditions: [{ type: 'Placed', status: 'False', reason: 'NoCellFits', message: 'no cell has 40% free', lastTransitionTime: '2026-12-06T12:00:00Z' }] },
    local: { phase: 'Provisioning' },
  };
  await api.client.create(fleetPath, { ...clusterObject('placed', { placement: { region: 'eu' }, tier: 'L' } as Partial<ClusterSpec>), metadata: { name: 'placed', namespace: 'fleet-view' } });
  await api.client.create(fleetPath, { ...clusterObject('unplaced', { placement: { region: 'us' }, mode: 'Minimal' } as Partial<ClusterSpec>), metadata: { name: 'unplaced', namespace: 'fleet-view' } });
  await api.client.create(fleetPath, { ...clusterObject('local'), metadata: { name: 'local', namespace: 'fleet-view' } });
  for (const [name, status] of Object.entries(statuses)) await api.client.patch(`${fleetPath}/${name}/status`, { status }, 'merge');
  const cells = [{ apiVersion: 'tessera.dev/v1alpha1', kind: 'Cell', metadata: { name: 'cell-a' }, spec: { region: 'eu' } }] as never[];
  const objects = (await api.client.get<{ items: Cluster[] }>(fleetPath)).items;
  const table = await api.client.request<ClusterTable>('GET', fleetPath, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io', query: { includeObject: 'None' } });
  const fromTable = fleetViewOf(guestFieldsFromTable(table), cells);
  assert.deepEqual(fromTable, fleetView(objects, cells));
  assert.deepEqual(
    fromTable.guests.map((guest) => [guest.name, guest.cell, guest.region, guest.tier, guest.loadScore, guest.ready, guest.phase]),
    [
      ['local', '<here>', '', '', null, 'Unknown', 'Provisioning'],
      ['placed', 'cell-a', 'eu', 'L', 41.5, 'True', 'Ready'],
      ['unplaced', '<unplaced>', 'us', '', null, 'Unknown', 'Unplaced'],
    ],
  );
});
