// End to end: `Cluster` objects on the local meta cluster become real guest control planes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MetaClusterCli, eventually, processesMentioning } from '../harness/meta-cluster-cli.ts';
import { GuestClusters, conditionOf, run, watchReadyz, type ClusterObject } from '../harness/guest-clusters.ts';
import { ensureBinaries } from '../../src/local/binaries/resolve.ts';
import { probeReadyz, credentialsFromKubeconfig } from '../../src/operators/cluster/guest-access.ts';
import { createServer as createHttpsServer } from 'node:https';
import { createCertificateAuthority } from '../../src/pki/certificate-authority.ts';
import { issueCertificate } from '../../src/pki/leaf-certificate.ts';
import { webhookConfigurationName } from '../../src/operators/admission/webhook-configuration.ts';
import { clusterValidationPath } from '../../src/operators/admission/admission-server.ts';

type Pod = { metadata: { name: string }; spec: { nodeName: string }; status: { podIP?: string } };
type List<T> = { items: T[] };

const cluster = await MetaClusterCli.create(4);
after(() => cluster.destroy());
const binaries = await ensureBinaries({ components: ['kubectl', 'etcdctl'] });
const guests = new GuestClusters(cluster, binaries.kubectl);
/** Applies an example Cluster (a no-op when it is there) and waits until it is Ready: each test sets up the guests it uses, so one failure does not cascade. */
async function exampleGuest(name: 'minimal' | 'standard', timeoutMs = 240_000): Promise<ClusterObject> {
  await cluster.kubectl('apply', '-f', new URL(`../../examples/cluster-${name}.yaml`, import.meta.url).pathname);
  return guests.waitReady(name, timeoutMs);
}

test('the meta cluster starts with the Cluster CRD and operator', async () => {
  const up = await cluster.tessera(['up', '--detach']);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  assert.match(up.stdout, /Cluster operator running/);
  await cluster.kubectl('get', 'crd', 'clusters.tessera.dev');
});

test('a Minimal Cluster becomes a guest whose API answers, with an admin and a view-only user', async () => {
  const ready = await exampleGuest('minimal');
  assert.equal(ready.status?.phase, 'Ready');
  const adminSecret = ready.status?.adminKubeconfigSecret ?? '';
  assert.ok(adminSecret, 'status names the admin kubeconfig Secret');
  const admin = await guests.kubeconfig(adminSecret);
  const readyz = await guests.kubectl(admin, 'get', '--raw', '/readyz');
  assert.equal(readyz.stdout.trim(), 'ok', readyz.stderr);
  assert.equal((await guests.kubectl(admin, 'create', 'namespace', 'team-a')).code, 0);
  const auditor = await guests.kubeconfig('minimal-user-auditor-kubeconfig');
  const denied = await guests.kubectl(auditor, 'create', 'namespace', 'team-b');
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden/);
  // RBAC bindings reach the guest API server's authorizer through its informers: eventually.
  await eventually('the auditor can read', async () => (await guests.kubectl(auditor, 'get', 'namespace', 'team-a')).code === 0, 30_000);
  for (const type of ['EtcdReady', 'APIServerAvailable', 'ControlPlaneReady', 'CertificatesValid', 'AddonsReady']) {
    assert.ok(ready.status?.conditions?.some((c) => c.type === type && c.status === 'True'), `${type} is True`);
  }
});

test('bad input is rejected by the API server naming the field, and nothing is stored for it', async () => {
  await exampleGuest('minimal');
  const minimalBefore = await cluster.kubectlJson<ClusterObject & { metadata: { generation: number; resourceVersion: string }; spec: { network: { podCIDR: string } } }>('get', 'cluster', 'minimal');
  const patch = await cluster.tessera(['kubectl', '--', 'patch', 'cluster', 'minimal', '--type=merge', '-p', '{"spec":{"network":{"podCIDR":"10.99.0.0/16"}}}']);
  assert.notEqual(patch.code, 0);
  assert.match(patch.stderr, /spec\.network\.podCIDR/);
  const minimalAfter = await cluster.kubectlJson<typeof minimalBefore>('get', 'cluster', 'minimal');
  assert.equal(minimalAfter.spec.network.podCIDR, '10.244.0.0/16', 'the refused change was not stored');
  assert.equal(minimalAfter.metadata.generation, minimalBefore.metadata.generation);

  // Each refused Cluster names its field, and does not exist afterwards (so the operator never sees it).
  const refusals: Array<[name: string, spec: string, field: RegExp]> = [
    ['badversion', '{version: "v1.37"}', /spec\.version/],
    ['masters', '{version: "1.37.2", users: [{name: mallory, groups: ["system:masters"]}]}', /spec\.users\[0\]\.groups\[0\].*must not start with "system:"/],
    ['alwaysallow', '{version: "1.37.2", controlPlane: {apiServer: {extraArgs: {authorization-mode: AlwaysAllow}}}}', /spec\.controlPlane\.apiServer\.extraArgs\.authorization-\*: every flag starting with authorization- is set by Tessera/],
    ['newline', '{version: "1.37.2", controlPlane: {apiServer: {extraArgs: {audit-log-path: "/tmp/a\\n--anonymous-auth=true"}}}}', /spec\.controlPlane\.apiServer\.extraArgs\[audit-log-path\].*must not contain control characters/],
  ];
  for (const [name, spec, field] of refusals) {
    const file = join(cluster.home, `bad-${name}.yaml`);
    await writeFile(file, `apiVersion: tessera.dev/v1alpha1\nkind: Cluster\nmetadata: {name: ${name}}\nspec: ${spec}\n`);
    const create = await cluster.tessera(['kubectl', '--', 'apply', '-f', file]);
    assert.notEqual(create.code, 0, `${name} was accepted`);
    assert.match(create.stderr, field);
    const stored = await cluster.tessera(['kubectl', '--', 'get', 'cluster', name]);
    assert.notEqual(stored.code, 0, `${name} must not be stored`);
    assert.match(stored.stderr, /NotFound|not found/);
  }
});

test('a Standard Cluster: 3 etcd members, 3 API servers in 3 zones; a member replaced without losing the guest or its data', async () => {
  const ready = await exampleGuest('standard');
  const admin = await guests.kubeconfig(ready.status?.adminKubeconfigSecret ?? '');
  const credentials = credentialsFromKubeconfig(await guests.secretData(ready.status?.adminKubeconfigSecret ?? '', 'kubeconfig'));

  // etcdctl member list through the operator's client certificate.
  const clientIP = (await cluster.kubectlJson<{ spec: { clusterIP: string } }>('get', 'service', 'standard-etcd-client')).spec.clusterIP;
  const tlsDir = cluster.home;
  for (const key of ['ca.crt', 'tls.crt', 'tls.key']) await writeFile(join(tlsDir, `etcd-${key}`), await guests.secretData('standard-etcd-operator-client', key));
  const etcdctl = (...args: string[]) => run(binaries.etcdctl, [`--endpoints=https://${clientIP}:2379`, `--cacert=${join(tlsDir, 'etcd-ca.crt')}`, `--cert=${join(tlsDir, 'etcd-tls.crt')}`, `--key=${join(tlsDir, 'etcd-tls.key')}`, ...args]);
  const members = await etcdctl('member', 'list', '-w', 'json');
  assert.equal(members.code, 0, members.stderr);
  const names = (JSON.parse(members.stdout) as { members: { name: string }[] }).members.map((m) => m.name).sort();
  assert.deepEqual(names, ['standard-etcd-0', 'standard-etcd-1', 'standard-etcd-2']);

  const apiPods = (await cluster.kubectlJson<List<Pod>>('get', 'pods', '-l', 'tessera.dev/cluster=standard,tessera.dev/component=control-plane')).items;
  const nodes = (await cluster.kubectlJson<List<{ metadata: { name: string; labels: Record<string, string> } }>>('get', 'nodes')).items;
  const zoneOf = new Map(nodes.map((n) => [n.metadata.name, n.metadata.labels['topology.kubernetes.io/zone']]));
  assert.deepEqual(apiPods.map((p) => zoneOf.get(p.spec.nodeName)).sort(), ['zone-a', 'zone-b', 'zone-c']);

  for (let i = 0; i < 20; i++) assert.equal((await guests.kubectl(admin, 'create', 'configmap', `key-${i}`, `--from-literal=value=${i}`)).code, 0);

  // Watch /readyz through the Service the whole time (stopped on every path: a failed step must
  // not leave it probing for ever, which once kept this file from ending).
  const readyz = watchReadyz(ready.status?.endpoint ?? '', credentials);
  let probed: { probes: number; failures: string[] };
  try {
    // 1. Kill one member's process: the runtime restarts it.
    const member1 = await cluster.kubectlJson<Pod>('get', 'pod', 'standard-etcd-1');
    const listing = await run('ss', ['-ltnpH', `src ${member1.status.podIP}:2379`]);
    const pid = Number(/pid=(\d+)/.exec(listing.stdout)?.[1]);
    assert.ok(pid > 0, listing.stdout);
    process.kill(pid, 'SIGKILL');
    await eventually('standard-etcd-1 restarted and ready', async () => {
      const pod = await cluster.kubectlJson<{ status: { containerStatuses?: { restartCount: number; ready: boolean }[] } }>('get', 'pod', 'standard-etcd-1');
      return (pod.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && pod.status.containerStatuses?.[0]?.ready;
    }, 90_000);

    // 2. Delete a member's pod and its volume: it is removed and added again under its name.
    // `member list` prints hex ids: JSON would round the 64-bit ids to doubles.
    const memberLine = async (member: string) => (await etcdctl('member', 'list')).stdout.split('\n').map((line) => line.split(', ')).find((fields) => fields[2] === member);
    const before = await memberLine('standard-etcd-2');
    assert.ok(before, 'standard-etcd-2 is a member');
    // A finalizer of the test's own holds the old claim after its pod is gone, as claim
    // protection does while the meta cluster's controller-manager lags: the member is removed and
    // added, and started only once that claim is gone (its pod would otherwise name the old claim
    // and never be scheduled).
    const hold = 'e2e.tessera.dev/hold';
    await cluster.kubectl('patch', 'pvc', 'standard-etcd-2-data', '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/metadata/finalizers/-', value: hold }]));
    await cluster.kubectl('delete', 'pod', 'standard-etcd-2', '--wait=false');
    await cluster.kubectl('delete', 'pvc', 'standard-etcd-2-data', '--wait=false');
    await guests.waitFor('standard', 'the added member waiting for its old claim', (object) => /standard-etcd-2 is added; waiting for its old claim/.test(conditionOf(object, 'EtcdReady')?.message ?? ''), 120_000);
    const early = await cluster.tessera(['kubectl', '--', 'get', 'pod', 'standard-etcd-2', '-o', 'name']);
    assert.match(early.stderr, /NotFound/, `no pod of standard-etcd-2 while its old claim terminates: ${early.stdout}`);
    await eventually('the old claim released', async () => {
      const claim = await cluster.kubectlJson<{ metadata: { finalizers?: string[] } }>('get', 'pvc', 'standard-etcd-2-data');
      const index = claim.metadata.finalizers?.indexOf(hold) ?? -1;
      if (index < 0) return true;
      const patch = [{ op: 'test', path: `/metadata/finalizers/${index}`, value: hold }, { op: 'remove', path: `/metadata/finalizers/${index}` }];
      await cluster.kubectl('patch', 'pvc', 'standard-etcd-2-data', '--type=json', '-p', JSON.stringify(patch));
      return true;
    }, 30_000);
    await eventually('standard-etcd-2 replaced under its name with a new member id, started and healthy', async () => {
      const again = await memberLine('standard-etcd-2');
      if (!again || again[0] === before[0] || again[1] !== 'started') return undefined;
      const health = await etcdctl('endpoint', 'health');
      return health.code === 0 ? again : undefined;
    }, 180_000, 1000).catch(async (error: unknown) => {
      const objects = await cluster.kubectl('get', 'pod,pvc', '-l', 'tessera.dev/cluster=standard,tessera.dev/component=etcd', '-o', 'wide').catch((e: Error) => e.message);
      throw new Error(`${(error as Error).message}; ${await guests.heldBy('standard')}; members: ${(await etcdctl('member', 'list')).stdout}; ${objects}`, { cause: error });
    });
    await guests.waitReady('standard', 180_000);
  } finally {
    probed = await readyz.stop();
  }
  assert.deepEqual(probed.failures, [], 'the guest answered /readyz throughout');

  const configMaps = await guests.kubectl(admin, 'get', 'configmaps', '-o', 'name');
  for (let i = 0; i < 20; i++) assert.match(configMaps.stdout, new RegExp(`configmap/key-${i}\\n`));
  const events = await cluster.kubectl('get', 'events', '--field-selector', 'involvedObject.name=standard');
  assert.match(events, /EtcdMemberRemoved/);
  assert.match(events, /EtcdMemberAdded/);
});

test("guest A's admin certificate is rejected by guest B", async () => {
  await exampleGuest('minimal');
  const standard = await exampleGuest('standard');
  const minimalCredentials = credentialsFromKubeconfig(await guests.secretData('minimal-admin-kubeconfig', 'kubeconfig'));
  const standardCredentials = credentialsFromKubeconfig(await guests.secretData('standard-admin-kubeconfig', 'kubeconfig'));
  assert.equal((await probeReadyz(standard.status?.endpoint ?? '', standardCredentials)).ready, true);
  // B's CA to trust B's server, A's client certificate to authenticate.
  const crossed = await probeReadyz(standard.status?.endpoint ?? '', { ...minimalCredentials, caCertPem: standardCredentials.caCertPem });
  assert.equal(crossed.ready, false);
  assert.match(crossed.detail, /^401/);
});

test('admission rejects a Cluster whose pod range overlaps another Cluster in the same VPC, with the planner message', async () => {
  await exampleGuest('standard');
  await cluster.kubectl('patch', 'cluster', 'standard', '--type=merge', '-p', '{"spec":{"network":{"vpc":"vpc-e2e"}}}');
  const overlapping = (vpc: string) => `apiVersion: tessera.dev/v1alpha1\nkind: Cluster\nmetadata: {name: overlap}\nspec:\n  version: "1.37.2"\n  mode: Minimal\n  network: {vpc: ${vpc}, podCIDR: 10.200.128.0/17, serviceCIDR: 10.96.0.0/16}\n`;
  const file = join(cluster.home, 'overlap.yaml');
  await writeFile(file, overlapping('vpc-e2e'));
  const rejected = await eventually('the webhook to answer', async () => {
    const result = await cluster.tessera(['kubectl', '--', 'apply', '--dry-run=server', '-f', file]);
    return result.code !== 0 ? result : undefined;
  }, 30_000);
  assert.match(rejected.stderr, /cluster-network\.tessera\.dev/);
  assert.match(rejected.stderr, /spec\.network\.podCIDR/);
  assert.match(rejected.stderr, /standard/);
  await writeFile(file, overlapping('vpc-other'));
  const accepted = await cluster.tessera(['kubectl', '--', 'apply', '--dry-run=server', '-f', file]);
  assert.equal(accepted.code, 0, accepted.stderr);
});

test('objects other than Clusters never reach the admission webhook', async () => {
  // Point the webhook at a recorder in this process for a moment: what the API server sends is
  // what it sends to Tessera's webhook, which is chosen by the configuration's rules alone.
  const ca = await createCertificateAuthority({ commonName: 'e2e-webhook-recorder-ca' });
  const serving = await issueCertificate({ ca, commonName: 'recorder', ipAddresses: ['127.0.0.1'], usages: ['server'], validity: 3_600_000 });
  const reviewed: string[] = [];
  const recorder = createHttpsServer({ key: serving.keyPem, cert: serving.certPem }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string; kind: { kind: string }; name?: string } };
      reviewed.push(`${review.request.kind.kind}/${review.request.name ?? ''}`);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } }));
    });
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  const port = (recorder.address() as { port: number }).port;
  const configuration = await cluster.kubectlJson<{ webhooks: Array<{ clientConfig: object }> }>('get', 'validatingwebhookconfiguration', webhookConfigurationName);
  const original = configuration.webhooks[0]?.clientConfig;
  assert.ok(original, 'Tessera registered its webhook');
  const pointAt = (clientConfig: object) =>
    cluster.kubectl('patch', 'validatingwebhookconfiguration', webhookConfigurationName, '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig', value: clientConfig }]));
  await pointAt({ url: `https://127.0.0.1:${port}${clusterValidationPath}`, caBundle: Buffer.from(ca.certPem).toString('base64') });
  try {
    const probe = join(cluster.home, 'webhook-probe.yaml');
    await writeFile(probe, 'apiVersion: tessera.dev/v1alpha1\nkind: Cluster\nmetadata: {name: webhook-probe}\nspec: {version: "1.37.2", mode: Minimal}\n');
    // The API server picks up the new configuration within moments.
    await eventually('a Cluster review at the recorder', async () => {
      await cluster.tessera(['kubectl', '--', 'apply', '--dry-run=server', '-f', probe]);
      return reviewed.includes('Cluster/webhook-probe');
    }, 30_000, 500);
    await cluster.kubectl('create', 'configmap', 'unrelated', '--from-literal=a=b');
    await cluster.kubectl('create', 'secret', 'generic', 'unrelated', '--from-literal=a=b');
    // Webhooks are called inside the request, so a review of the ConfigMap would be here by now.
    assert.ok(reviewed.length > 0 && reviewed.every((entry) => entry.startsWith('Cluster/')), `only Clusters were reviewed: ${reviewed.join(', ')}`);
  } finally {
    await pointAt(original);
    recorder.close();
  }
});

test('deleting a Cluster removes everything it owns, processes and volumes included', async () => {
  await exampleGuest('minimal');
  const uids = (await cluster.kubectlJson<List<{ metadata: { uid: string } }>>('get', 'pods', '-l', 'tessera.dev/cluster=minimal')).items.map((p) => p.metadata.uid);
  assert.ok(uids.length >= 2, `the etcd member and the control-plane pod: ${uids.length} pods`);
  await cluster.kubectl('delete', 'cluster', 'minimal', '--wait=true', '--timeout=120s');
  const leftovers = await cluster.kubectl('get', 'pods,services,secrets,pvc,deployments', '-l', 'tessera.dev/cluster=minimal', '-o', 'name');
  assert.equal(leftovers.trim(), '');
  await eventually('no PersistentVolume of minimal left', async () => !(await cluster.kubectl('get', 'pv', '-o', 'jsonpath={.items[*].spec.claimRef.name}')).includes('minimal-'), 60_000);
  // Container processes carry their pod's directory (named by uid) in their environment.
  for (const uid of uids) assert.deepEqual(await processesMentioning(uid), [], `no process of pod ${uid} is left`);
});
