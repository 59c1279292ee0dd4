// Every rendered object, validated by a real kube-apiserver: server-side dry runs (create, and
// server-side apply as the reconciler will send them) with strict field validation, so a wrong
// field name, a bad value or a missing apiVersion/kind fails here and not in a live reconcile.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { KubernetesObject, V1Container, V1PodTemplateSpec, V1Service } from '@kubernetes/client-node';
import { startTestApiServer } from '../../../test/harness/api-server.ts';
import { ensureBinaries } from '../../local/binaries/resolve.ts';
import { withDefaults, type Cluster, type ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { renderControlPlaneDeployment } from './control-plane-deployment.ts';
import { renderApiServerInternalService, renderApiServerService } from './apiserver-services.ts';
import { initialEtcdMembers, renderEtcdMember } from './etcd-member.ts';
import { renderEtcdClientService, renderEtcdPeerService } from './etcd-services.ts';
import { renderContext, type RenderContext } from './render-context.ts';
import { firstDifference } from './owned-objects.ts';
import { withTierResources } from './tier-resources.ts';
import { tierResources } from '../tiering/tiers.ts';
import { defaultTierPolicySpec } from '../../api/v1alpha1/tier-policy.ts';

const api = await startTestApiServer();

function contextFor(name: string, namespace: string, spec: ClusterSpec, apiServerServiceIP?: string, tier?: string): RenderContext {
  const cluster: Cluster = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name, namespace, uid: `uid-of-${name}` }, spec };
  const defaulted = tier ? withTierResources(withDefaults(spec), tierResources(tier, defaultTierPolicySpec)) : withDefaults(spec);
  return renderContext({ cluster, spec: defaulted, certificateChecksum: `checksum-of-${name}`, etcdMembers: initialEtcdMembers(name, defaulted.mode), apiServerServiceIP });
}

/** Everything the operator renders in the meta cluster for one guest (the PKI aside). */
function renderAll(context: RenderContext): KubernetesObject[] {
  return [
    renderEtcdPeerService(context),
    renderEtcdClientService(context),
    renderApiServerService(context),
    renderApiServerInternalService(context),
    ...context.etcdMembers.flatMap((member) => {
      const { pod, persistentVolumeClaim } = renderEtcdMember(context, member);
      return persistentVolumeClaim ? [persistentVolumeClaim, pod] : [pod];
    }),
    renderControlPlaneDeployment(context),
  ];
}

const collections: Record<string, string> = {
  'v1/Service': 'services',
  'v1/Pod': 'pods',
  'v1/PersistentVolumeClaim': 'persistentvolumeclaims',
  'apps/v1/Deployment': 'deployments',
};

function collectionPath(object: KubernetesObject): string {
  const plural = collections[`${object.apiVersion}/${object.kind}`];
  assert.ok(plural, `no collection known for ${object.apiVersion} ${object.kind}`);
  const group = object.apiVersion === 'v1' ? '/api/v1' : `/apis/${object.apiVersion}`;
  return `${group}/namespaces/${object.metadata?.namespace}/${plural}`;
}

function podTemplates(objects: KubernetesObject[]): { owner: string; template: V1PodTemplateSpec }[] {
  return objects.flatMap((object) => {
    const owner = `${object.kind}/${object.metadata?.name}`;
    if (object.kind === 'Pod') return [{ owner, template: object as V1PodTemplateSpec }];
    if (object.kind === 'Deployment') return [{ owner, template: (object as { spec: { template: V1PodTemplateSpec } }).spec.template }];
    return [];
  });
}

const standard: ClusterSpec = {
  version: '1.37.2',
  mode: 'Standard',
  controlPlane: {
    placement: {
      nodeSelector: { 'tessera.dev/role': 'master' },
      tolerations: [{ key: 'tessera.dev/master', operator: 'Exists', effect: 'NoSchedule' }],
      spreadAcrossZones: true,
    },
    apiServer: { extraArgs: { 'max-requests-inflight': '800' }, resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '4Gi' } } },
    controllerManager: { extraArgs: { v: '2' } },
    scheduler: { version: '1.36.3' },
    etcd: { extraArgs: { 'quota-backend-bytes': '8589934592' }, resources: { requests: { cpu: '500m' } }, storage: { claimTemplate: { size: '4Gi', storageClassName: 'standard' } } },
  },
  network: { plugin: 'flannel' },
};

const minimal: ClusterSpec = {
  version: '1.36.3',
  mode: 'Minimal',
  controlPlane: { placement: { spreadAcrossZones: false }, etcd: { storage: { volumeSource: { emptyDir: { sizeLimit: '1Gi' } } } } },
};

async function createNamespace(name: string): Promise<void> {
  await api.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // The test API server runs no controller-manager to create it, and pod admission looks it up.
  await api.client.create(`/api/v1/namespaces/${name}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
}

async function dryRunEverything(objects: KubernetesObject[]): Promise<void> {
  for (const object of objects) {
    const what = `${object.kind} ${object.metadata?.name}`;
    const created = await api.client
      .create<KubernetesObject & { spec?: unknown }>(collectionPath(object), object, { dryRun: 'All', fieldValidation: 'Strict' })
      .catch((error: Error) => assert.fail(`dry-run create of ${what} was rejected: ${error.message}`));
    assert.equal(created.metadata?.name, object.metadata?.name, what);
    assert.deepEqual(created.metadata?.labels, object.metadata?.labels, what);
    const applied = await api.client
      .patch<KubernetesObject>(`${collectionPath(object)}/${object.metadata?.name}`, object, 'apply', { fieldManager: 'tessera-cluster-operator', force: true, dryRun: 'All', fieldValidation: 'Strict' })
      .catch((error: Error) => assert.fail(`dry-run server-side apply of ${what} was rejected: ${error.message}`));
    assert.equal(applied.metadata?.name, object.metadata?.name, what);
    // What the server stores (defaults, canonical quantities) must still match what is rendered,
    // or every pass would write the object again. Pods are left out: etcd member pods are
    // created once by a membership step and never applied again (the server adds tolerations).
    if (object.kind !== 'Pod') assert.equal(firstDifference(object, applied), undefined, `${what}: the stored object differs from the rendered one at this field, so every pass would apply it again`);
  }
}

test('a Standard guest with placement, resources, extraArgs and claims passes the API server validation', async () => {
  await createNamespace('team-standard');
  const objects = renderAll(contextFor('shop', 'team-standard', standard));
  assert.deepEqual(
    objects.map((object) => `${object.kind}/${object.metadata?.name}`),
    [
      'Service/shop-etcd',
      'Service/shop-etcd-client',
      'Service/shop-kube-apiserver',
      'Service/shop-kube-apiserver-internal',
      'PersistentVolumeClaim/shop-etcd-0-data',
      'Pod/shop-etcd-0',
      'PersistentVolumeClaim/shop-etcd-1-data',
      'Pod/shop-etcd-1',
      'PersistentVolumeClaim/shop-etcd-2-data',
      'Pod/shop-etcd-2',
      'Deployment/shop-control-plane',
    ],
  );
  await dryRunEverything(objects);
});

test('a Minimal guest with a volumeSource passes the API server validation', async () => {
  await createNamespace('team-minimal');
  const objects = renderAll(contextFor('tiny', 'team-minimal', minimal));
  assert.equal(objects.filter((object) => object.kind === 'PersistentVolumeClaim').length, 0);
  assert.equal(objects.filter((object) => object.kind === 'Pod').length, 1);
  await dryRunEverything(objects);
});

test('sized by each built-in tier, every rendered object is stored as rendered (no write every pass)', async () => {
  await createNamespace('team-tiers');
  for (const tier of defaultTierPolicySpec.tiers) {
    await dryRunEverything(renderAll(contextFor(`tier-${tier.name.toLowerCase()}`, 'team-tiers', minimal, undefined, tier.name)));
  }
});

test('the API server keeps the rendered command lines and pod fields as they are', async () => {
  await createNamespace('team-roundtrip');
  const context = contextFor('keep', 'team-roundtrip', standard);
  const member = context.etcdMembers[0];
  assert.ok(member);
  const { pod } = renderEtcdMember(context, member);
  const created = await api.client.create<typeof pod>(collectionPath(pod), pod, { dryRun: 'All', fieldValidation: 'Strict' });
  assert.deepEqual(created.spec?.containers[0]?.args, pod.spec?.containers[0]?.args);
  assert.equal(created.spec?.hostname, 'keep-etcd-0');
  assert.equal(created.spec?.subdomain, 'keep-etcd');
  const deployment = renderControlPlaneDeployment(context);
  const stored = await api.client.create<typeof deployment>(collectionPath(deployment), deployment, { dryRun: 'All', fieldValidation: 'Strict' });
  const template = stored.spec?.template.spec;
  assert.deepEqual(template?.initContainers?.[0]?.args, deployment.spec?.template.spec?.initContainers?.[0]?.args);
  assert.equal(template?.initContainers?.[0]?.restartPolicy, 'Always', 'the meta API server keeps the API server a sidecar');
  assert.deepEqual(template?.containers.map((c) => c.args), deployment.spec?.template.spec?.containers.map((c) => c.args));
  assert.deepEqual(template?.topologySpreadConstraints?.map((c) => c.matchLabelKeys), [['pod-template-hash'], ['pod-template-hash']]);
  assert.deepEqual(template?.volumes, deployment.spec?.template.spec?.volumes);
});

test('the allocated Service address, rendered back, is accepted by server-side apply', async () => {
  await createNamespace('team-service-ip');
  const first = renderApiServerService(contextFor('addr', 'team-service-ip', minimal));
  const created = await api.client.create<V1Service>(collectionPath(first), first);
  const allocated = created.spec?.clusterIP;
  assert.ok(allocated && allocated !== 'None', 'the server allocated an address');
  const again = renderApiServerService(contextFor('addr', 'team-service-ip', minimal, allocated));
  const applied = await api.client.apply<V1Service>(`${collectionPath(again)}/${again.metadata?.name}`, again, 'tessera-cluster-operator');
  assert.equal(applied.spec?.clusterIP, allocated);
});

test('every pod template carries the certificate checksum, and nothing binds a wildcard or loopback address', () => {
  for (const [name, spec] of [
    ['shop', standard],
    ['tiny', minimal],
  ] as const) {
    const templates = podTemplates(renderAll(contextFor(name, 'team-a', spec)));
    assert.equal(templates.length, spec.mode === 'Minimal' ? 2 : 4);
    for (const { owner, template } of templates) {
      assert.equal(template.metadata?.annotations?.['tessera.dev/certificates-checksum'], `checksum-of-${name}`, owner);
      const containers: V1Container[] = [...(template.spec?.initContainers ?? []), ...(template.spec?.containers ?? [])];
      for (const container of containers) {
        const binds = (container.args ?? []).filter((arg) => /^--(bind-address|advertise-address|listen-[a-z-]*urls)=/.test(arg));
        assert.ok(binds.length > 0, `${owner} binds somewhere`);
        for (const bind of binds) assert.match(bind, /^--[a-z-]+=(https?:\/\/)?\$\(POD_IP\)(:\d+)?$/, `${owner}: ${bind}`);
        for (const arg of container.args ?? []) assert.doesNotMatch(arg, /0\.0\.0\.0|127\.0\.0\.1|localhost|\[::\]/, `${owner}: ${arg}`);
      }
    }
  }
});

test('every rendered object is owned by its Cluster and labelled for it', () => {
  for (const object of renderAll(contextFor('shop', 'team-a', standard))) {
    const what = `${object.kind}/${object.metadata?.name}`;
    assert.equal(object.metadata?.namespace, 'team-a', what);
    assert.equal(object.metadata?.labels?.['tessera.dev/cluster'], 'shop', what);
    assert.equal(object.metadata?.labels?.['app.kubernetes.io/managed-by'], 'tessera', what);
    assert.ok(object.metadata?.labels?.['tessera.dev/component'], what);
    assert.deepEqual(object.metadata?.ownerReferences?.map((owner) => [owner.kind, owner.name, owner.uid, owner.controller]), [['Cluster', 'shop', 'uid-of-shop', true]], what);
  }
});

/** The flag names a binary's --help lists. */
async function knownFlags(binary: string): Promise<Set<string>> {
  const { stdout, stderr } = await promisify(execFile)(binary, ['--help'], { maxBuffer: 8 * 1024 * 1024 }).catch(
    (error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }),
  );
  return new Set([...`${stdout}\n${stderr}`.matchAll(/^\s+(?:-[a-z], )?--([a-z0-9-]+)/gm)].map((match) => match[1] ?? ''));
}

test('every rendered flag is one the pinned binaries of the component accept', async () => {
  for (const [name, spec] of [
    ['shop', standard],
    ['tiny', minimal],
  ] as const) {
    for (const { owner, template } of podTemplates(renderAll(contextFor(name, 'team-a', spec)))) {
      for (const container of template.spec?.containers ?? []) {
        const component = container.command?.[0] as 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';
        // Kubernetes images are tagged v<version>; etcd's binary comes with the Kubernetes pin.
        const kubernetesVersion = component === 'etcd' ? spec.version : (container.image?.split(':v')[1] ?? '');
        const binaries = await ensureBinaries({ kubernetesVersion, components: [component] });
        const known = await knownFlags(binaries[component]);
        assert.ok(known.size > 20, `${component} --help lists its flags`);
        for (const arg of container.args ?? []) {
          const flag = /^--([a-z0-9-]+)=/.exec(arg)?.[1];
          assert.ok(flag && known.has(flag), `${owner}: ${component} ${kubernetesVersion} does not know ${arg}`);
        }
      }
    }
  }
});
