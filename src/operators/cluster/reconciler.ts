// The Cluster reconciler: one pass reads the Cluster and what it owns from the informer caches,
// then walks the stages in order (component-order.ts): network check, Services, PKI, etcd
// members, API servers, controller-manager and scheduler, the guest's own objects, status.
// Every stage writes only what differs, so a converged Cluster costs no writes; every decision
// is a condition or an Event. The pass is safe to stop at any line: the next one starts again
// from what the API server holds.
import type { V1Pod, V1Service, V1Secret, V1PersistentVolumeClaim, V1Deployment } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Cluster, ClusterCondition, ClusterStatus, DefaultedClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { withDefaults } from '../../api/v1alpha1/cluster.ts';
import type { Informer } from '../../controller/informer.ts';
import type { RestClient } from '../../controller/rest-client.ts';
import { isNotFound, resourcePath } from '../../controller/rest-client.ts';
import type { EventRecorder } from '../../controller/events.ts';
import type { ReconcileResult } from '../../controller/controller.ts';
import { setCondition, summarizeReady, type Condition } from '../../controller/conditions.ts';
import { addFinalizer, removeFinalizer } from '../../controller/finalizers.ts';
import { semanticEqual } from '../../controller/status.ts';
import { checkClusterNetworkAgainstVpc } from '../../plan/network-rules.ts';
import { buildCertificateSet, pkiSecretNames } from './pki/certificate-set.ts';
import { certificateLifetimesOf, checksumOf, reconcileCertificateSecrets } from './pki/certificate-secrets.ts';
import { renderContext, type DesiredEtcdMember, type RenderContext } from './render-context.ts';
import { renderEtcdPeerService, renderEtcdClientService } from './etcd-services.ts';
import { renderApiServerService, renderApiServerInternalService } from './apiserver-services.ts';
import { renderApiServerDeployment, API_SERVER_PORT } from './apiserver-deployment.ts';
import { renderControllerManagerDeployment } from './controller-manager-deployment.ts';
import { renderSchedulerDeployment } from './scheduler-deployment.ts';
import { initialEtcdMembers, etcdPeerURL, renderEtcdMember, ETCD_CLIENT_PORT } from './etcd-member.ts';
import { apiServerServiceName, CLUSTER_LABEL, etcdClientServiceName, etcdMemberClaimName, serviceDnsName, deploymentName, CERTIFICATES_CHECKSUM_ANNOTATION } from './names.ts';
import { EtcdClusterClient, type EtcdMember } from './etcd-client.ts';
import { nextMembershipAction, type MemberObservation } from './etcd-membership.ts';
import { applyIfChanged, pathOf } from './owned-objects.ts';
import { credentialsFromKubeconfig, guestClient, probeReadyz } from './guest-access.ts';
import { renderGuestObjects } from './guest/guest-objects.ts';
import { applyGuestObjects, forgetGuestApplyState } from './guest/apply-to-guest.ts';
import { decideBootstrapTokenRotation, generateBootstrapToken, newestValidBootstrapToken, parseBootstrapTokenSecret, type BootstrapToken } from './guest/bootstrap-token.ts';

export const clusterFinalizer = 'tessera.dev/cluster-cleanup';
const clustersPath = (namespace: string, name: string) => resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusters', namespace, name });

export type ClusterCaches = {
  clusters: Informer<Cluster>;
  pods: Informer<V1Pod>;
  services: Informer<V1Service>;
  secrets: Informer<V1Secret>;
  claims: Informer<V1PersistentVolumeClaim>;
  deployments: Informer<V1Deployment>;
};

export type ClusterReconcilerOptions = {
  client: RestClient;
  caches: ClusterCaches;
  events: EventRecorder;
  metaClusterDomain?: string;
  now?: () => Date;
};

type GuestState = { applied: string; token?: BootstrapToken; client?: RestClient };

/** Index of owned objects by their Cluster's key, `<namespace>/<name>` from the cluster label. */
export const byClusterIndex = 'cluster';
export function clusterKeyOf(object: { metadata?: { namespace?: string; labels?: Record<string, string> } }): string[] {
  const name = object.metadata?.labels?.[CLUSTER_LABEL];
  return name ? [`${object.metadata?.namespace}/${name}`] : [];
}

/** What a Cluster owns, from the cache's index: no scan over every guest's objects per pass. */
function owned<T extends { metadata?: { namespace?: string; labels?: Record<string, string> } }>(informer: Informer<T>, cluster: Cluster): T[] {
  return informer.byIndex(byClusterIndex, `${cluster.metadata.namespace}/${cluster.metadata.name}`);
}

function isPodReady(pod: V1Pod | undefined): boolean {
  return Boolean(pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
}

export class ClusterReconciler {
  private readonly options: ClusterReconcilerOptions;
  private readonly guests = new Map<string, GuestState>();
  /** API writes per Cluster key, for the "converged costs nothing" benchmark and tests. */
  readonly writes = new Map<string, number>();

  constructor(options: ClusterReconcilerOptions) {
    this.options = options;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private countWrite(key: string, written = true): void {
    if (written) this.writes.set(key, (this.writes.get(key) ?? 0) + 1);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cluster = this.options.caches.clusters.get(key);
    if (!cluster) {
      this.guests.delete(key);
      return;
    }
    if (cluster.metadata.deletionTimestamp) return this.finalize(key, cluster);
    if (!cluster.metadata.finalizers?.includes(clusterFinalizer)) {
      await addFinalizer(this.options.client, clustersPath(cluster.metadata.namespace ?? 'default', cluster.metadata.name), cluster, clusterFinalizer);
      this.countWrite(key);
      return { requeue: true };
    }
    return this.provision(key, cluster);
  }

  private async provision(key: string, cluster: Cluster): Promise<ReconcileResult> {
    const { client, caches, events } = this.options;
    const now = this.now();
    const spec = withDefaults(cluster.spec);
    const namespace = cluster.metadata.namespace ?? 'default';
    const name = cluster.metadata.name;
    const target = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', name, namespace, uid: cluster.metadata.uid };
    let conditions: Condition[] = (cluster.status?.conditions ?? []) as Condition[];
    const generation = cluster.metadata.generation;
    const set = (type: string, ok: boolean, reason: string, message: string) => {
      conditions = setCondition(conditions, { type, status: ok ? 'True' : 'False', reason, message }, generation, now);
    };

    // Network: the planner's rules against the other Clusters in the same VPC. Admission runs
    // them too, but admission may have been down (failurePolicy Ignore): nothing is created
    // for a Cluster whose network conflicts.
    const vpc = spec.network.vpc;
    const others = vpc ? caches.clusters.list().filter((other) => other.spec.network?.vpc === vpc) : [];
    const networkErrors = checkClusterNetworkAgainstVpc(cluster, others).filter((finding) => finding.severity === 'error');
    if (networkErrors.length) {
      const message = networkErrors.map((f) => `${f.field}: ${f.message} (fix: ${f.fix})`).join('; ');
      set('NetworkValid', false, 'NetworkConflict', message);
      events.warning(target, 'NetworkConflict', message);
      await this.writeStatus(key, cluster, { phase: 'Pending', conditions: this.summarize(conditions, generation, now) });
      return {};
    }
    set('NetworkValid', true, 'NoConflicts', vpc ? `no conflicts with the ${others.length - 1} other cluster(s) in VPC ${vpc}` : 'pod and service ranges are consistent');

    // Services first: the API server's ClusterIP goes into its serving certificate.
    // Services do not depend on certificates; the checksum is not known yet.
    const members = initialEtcdMembers(name, spec.mode);
    const firstContext = this.context(cluster, spec, 'not-yet-issued', members, undefined);
    const services = new Map(owned(caches.services, cluster).map((s) => [s.metadata?.name ?? '', s]));
    let apiServerIP = services.get(apiServerServiceName(name))?.spec?.clusterIP;
    let etcdClientIP = services.get(etcdClientServiceName(name))?.spec?.clusterIP;
    for (const desired of [renderEtcdPeerService(firstContext), renderEtcdClientService(firstContext), renderApiServerService({ ...firstContext, apiServerServiceIP: apiServerIP }), renderApiServerInternalService(firstContext)]) {
      const result = await applyIfChanged<V1Service>(client, desired, services.get(desired.metadata?.name ?? ''));
      this.countWrite(key, result.written);
      if (desired.metadata?.name === apiServerServiceName(name)) apiServerIP = result.object.spec?.clusterIP;
      if (desired.metadata?.name === etcdClientServiceName(name)) etcdClientIP = result.object.spec?.clusterIP;
    }
    if (!apiServerIP) return { requeueAfter: 1000 };
    const endpoint = `https://${apiServerIP}:${API_SERVER_PORT}`;

    // PKI.
    const secrets = new Map(owned(caches.secrets, cluster).map((s) => [s.metadata?.name ?? '', s]));
    const certificateSet = buildCertificateSet({ cluster, apiServerClusterIP: apiServerIP, etcdClientClusterIP: etcdClientIP, endpoint, etcdMemberNames: members.map((m) => m.name), metaClusterDomain: this.options.metaClusterDomain });
    let pki;
    try {
      pki = await reconcileCertificateSecrets({ cluster, set: certificateSet, existing: secrets, now, ...certificateLifetimesOf(cluster) });
    } catch (error) {
      set('CertificatesValid', false, 'CertificateError', (error as Error).message);
      events.warning(target, 'CertificateError', (error as Error).message);
      await this.writeStatus(key, cluster, { phase: 'Provisioning', conditions: this.summarize(conditions, generation, now) });
      return { requeueAfter: 30_000 };
    }
    for (const secret of pki.secrets) {
      const result = await applyIfChanged<V1Secret>(client, secret, secrets.get(secret.metadata?.name ?? ''));
      this.countWrite(key, result.written);
      secrets.set(secret.metadata?.name ?? '', result.object);
    }
    for (const renewed of pki.renewed) events.normal(target, 'CertificateRenewed', `renewed ${renewed}: ${pki.reasons[renewed] ?? ''}`);
    if (pki.created.length) events.normal(target, 'CertificatesIssued', `issued ${pki.created.length} certificate Secret(s)`);
    const names = pkiSecretNames(name);
    const checksum = checksumOf(
      pki.secrets,
      pki.secrets.map((s) => s.metadata?.name ?? '').filter((n) => n !== names.adminKubeconfig && !spec.users.some((u) => n === names.userKubeconfig(u.name))),
    );
    const caExpiring = pki.expiringCertificateAuthorities;
    set('CertificatesValid', caExpiring.length === 0, caExpiring.length ? 'CertificateAuthorityExpiring' : 'Valid', caExpiring.length ? `certificate authorities expiring: ${caExpiring.join(', ')} (rotate them by deleting their Secrets)` : `certificates valid until ${pki.earliestNotAfter.toISOString()}, renewal at ${pki.renewAt.toISOString()}`);

    // etcd.
    const etcd = await this.reconcileEtcd(key, cluster, spec, members, checksum, apiServerIP, secrets);
    set('EtcdReady', etcd.ready, etcd.reason, etcd.message);

    // API servers, controller-manager, scheduler: Deployments roll on their own.
    const context = this.context(cluster, spec, checksum, members, apiServerIP);
    const deployments = new Map(owned(caches.deployments, cluster).map((d) => [d.metadata?.name ?? '', d]));
    for (const desired of [renderApiServerDeployment(context), renderControllerManagerDeployment(context), renderSchedulerDeployment(context)]) {
      const result = await applyIfChanged<V1Deployment>(client, desired, deployments.get(desired.metadata?.name ?? ''));
      this.countWrite(key, result.written);
      deployments.set(desired.metadata?.name ?? '', result.object);
    }
    const available = (component: 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler') => {
      const deployment = deployments.get(deploymentName(name, component));
      return { ready: deployment?.status?.readyReplicas ?? 0, wanted: deployment?.spec?.replicas ?? 0 };
    };
    const apiServers = available('kube-apiserver');

    // The guest counts as Ready only when its own API answers /readyz through the Service.
    const adminSecret = secrets.get(names.adminKubeconfig);
    const adminKubeconfig = adminSecret?.data?.['kubeconfig'] ? Buffer.from(adminSecret.data['kubeconfig'], 'base64').toString('utf8') : undefined;
    const credentials = adminKubeconfig ? credentialsFromKubeconfig(adminKubeconfig) : undefined;
    const readyz = credentials ? await probeReadyz(endpoint, credentials) : { ready: false, detail: 'no admin kubeconfig yet' };
    set('APIServerAvailable', readyz.ready, readyz.ready ? 'ReadyzOK' : 'ReadyzFailing', readyz.ready ? `${apiServers.ready}/${apiServers.wanted} API servers ready; /readyz answers ok at ${endpoint}` : `/readyz at ${endpoint}: ${readyz.detail}`);
    const schedulingComponents = [available('kube-controller-manager'), available('kube-scheduler')];
    const controlPlaneReady = readyz.ready && schedulingComponents.every((o) => o.ready >= 1);
    set('ControlPlaneReady', controlPlaneReady, controlPlaneReady ? 'ComponentsAvailable' : 'ComponentsStarting', `controller-manager ${schedulingComponents[0]?.ready}/${schedulingComponents[0]?.wanted}, scheduler ${schedulingComponents[1]?.ready}/${schedulingComponents[1]?.wanted} ready`);

    // Inside the guest: bootstrap RBAC, cluster-info, a bootstrap token, addons.
    let guestRequeue: number | undefined;
    if (readyz.ready && credentials) {
      try {
        guestRequeue = await this.reconcileGuest(key, cluster, spec, endpoint, credentials);
        set('AddonsReady', true, 'Applied', `applied ${spec.addons.filter((a) => a.enabled).map((a) => `${a.name} ${a.version}`).join(', ')} and the join configuration`);
      } catch (error) {
        set('AddonsReady', false, 'ApplyFailed', (error as Error).message);
      }
    } else {
      set('AddonsReady', false, 'WaitingForAPIServer', 'the guest API does not answer yet');
    }

    const summarized = this.summarize(conditions, generation, now);
    const ready = summarized.find((c) => c.type === 'Ready')?.status === 'True';
    const status: ClusterStatus = {
      phase: ready ? 'Ready' : cluster.status?.phase === 'Ready' ? 'Degraded' : 'Provisioning',
      conditions: summarized as ClusterCondition[],
      endpoint,
      versions: { apiServer: context.images.apiServer.split(':')[1], controllerManager: context.images.controllerManager.split(':')[1], scheduler: context.images.scheduler.split(':')[1], etcd: context.images.etcd.split(':')[1] },
      etcdMembers: etcd.members,
      certificates: { notAfter: pki.earliestNotAfter.toISOString(), caNotAfter: pki.caNotAfter.toISOString(), renewAt: pki.renewAt.toISOString() },
      adminKubeconfigSecret: names.adminKubeconfig,
    };
    await this.writeStatus(key, cluster, status);
    const untilRenewal = Math.max(1000, pki.renewAt.getTime() - now.getTime());
    return { requeueAfter: ready ? Math.min(untilRenewal, guestRequeue ?? 60_000, 60_000) : Math.min(untilRenewal, 2000) };
  }

  private context(cluster: Cluster, spec: DefaultedClusterSpec, checksum: string, members: DesiredEtcdMember[], apiServerIP: string | undefined): RenderContext {
    return renderContext({ cluster, spec, certificateChecksum: checksum, etcdMembers: members, apiServerServiceIP: apiServerIP, metaClusterDomain: this.options.metaClusterDomain });
  }

  private summarize(conditions: Condition[], generation: number | undefined, now: Date): Condition[] {
    const types = ['NetworkValid', 'CertificatesValid', 'EtcdReady', 'APIServerAvailable', 'ControlPlaneReady', 'AddonsReady'].filter((type) => conditions.some((c) => c.type === type));
    return setCondition(conditions, summarizeReady(conditions, types), generation, now);
  }

  private async reconcileEtcd(key: string, cluster: Cluster, spec: DefaultedClusterSpec, members: DesiredEtcdMember[], checksum: string, apiServerIP: string, secrets: Map<string, V1Secret>): Promise<{ ready: boolean; reason: string; message: string; members: ClusterStatus['etcdMembers'] }> {
    const { client, caches, events } = this.options;
    const name = cluster.metadata.name;
    const namespace = cluster.metadata.namespace ?? 'default';
    const target = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', name, namespace, uid: cluster.metadata.uid };
    const pods = new Map(owned(caches.pods, cluster).filter((p) => p.metadata?.labels?.['tessera.dev/component'] === 'etcd').map((p) => [p.metadata?.name ?? '', p]));
    const claims = new Map(owned(caches.claims, cluster).map((c) => [c.metadata?.name ?? '', c]));
    const usesClaims = Boolean(spec.controlPlane.etcd.storage && 'claimTemplate' in spec.controlPlane.etcd.storage && spec.controlPlane.etcd.storage.claimTemplate);
    const context = this.context(cluster, spec, checksum, members, apiServerIP);
    const observed: MemberObservation[] = members.map((member) => {
      const pod = pods.get(member.name);
      const claim = claims.get(etcdMemberClaimName(member.name));
      return {
        name: member.name,
        peerURL: etcdPeerURL(context, member.name),
        podExists: Boolean(pod) && !pod?.metadata?.deletionTimestamp,
        podTerminating: Boolean(pod?.metadata?.deletionTimestamp),
        dataExists: usesClaims ? Boolean(claim) && !claim?.metadata?.deletionTimestamp : Boolean(pod),
        healthy: isPodReady(pod),
      };
    });

    // Talk to etcd through its client Service with the operator's certificate.
    const operatorSecret = secrets.get(pkiSecretNames(name).etcdOperatorClient);
    const clientService = caches.services.get(`${namespace}/${etcdClientServiceName(name)}`);
    let etcdMembers: EtcdMember[] | undefined;
    let etcdClient: EtcdClusterClient | undefined;
    if (operatorSecret?.data && clientService?.spec?.clusterIP) {
      const decode = (k: string) => Buffer.from(operatorSecret.data?.[k] ?? '', 'base64').toString('utf8');
      etcdClient = new EtcdClusterClient(`https://${clientService.spec.clusterIP}:${ETCD_CLIENT_PORT}`, { caPem: decode('ca.crt'), certPem: decode('tls.crt'), keyPem: decode('tls.key') }, serviceDnsName(etcdClientServiceName(name), namespace, this.options.metaClusterDomain));
      if (observed.some((m) => m.healthy)) etcdMembers = await etcdClient.listMembers().catch(() => undefined);
    }
    const formed = Boolean(cluster.status?.etcdMembers?.length) || Boolean(etcdMembers?.length);
    const action = nextMembershipAction({ formed, observed, members: etcdMembers });

    const createMember = async (member: DesiredEtcdMember, state: 'new' | 'existing') => {
      const peers = state === 'new' ? members : members.filter((m) => m.name === member.name || (etcdMembers ?? []).some((e) => e.name === m.name || e.peerURLs.includes(etcdPeerURL(context, m.name))));
      const rendered = renderEtcdMember({ ...context, etcdMembers: peers.map((m) => ({ ...m, state })) }, { ...member, state });
      if (rendered.persistentVolumeClaim && !claims.get(rendered.persistentVolumeClaim.metadata?.name ?? '')) {
        await client.apply(pathOf(rendered.persistentVolumeClaim), rendered.persistentVolumeClaim, 'tessera-cluster-operator', true);
        this.countWrite(key);
      }
      await client.apply(pathOf(rendered.pod), rendered.pod, 'tessera-cluster-operator', true);
      this.countWrite(key);
    };

    switch (action.kind) {
      case 'bootstrap':
        for (const memberName of action.members) {
          const member = members.find((m) => m.name === memberName);
          if (member) await createMember(member, 'new');
        }
        events.normal(target, 'EtcdBootstrapping', `starting etcd members ${action.members.join(', ')}`);
        break;
      case 'start': {
        const member = members.find((m) => m.name === action.name);
        if (member) await createMember(member, action.state);
        events.normal(target, 'EtcdMemberStarted', `started etcd member ${action.name} (${action.state} cluster)`);
        break;
      }
      case 'remove':
        await etcdClient?.removeMember(action.id);
        events.normal(target, 'EtcdMemberRemoved', `removed etcd member ${action.name} (id ${action.id}), whose data was lost, to replace it`);
        break;
      case 'add':
        await etcdClient?.addMember(action.peerURL);
        events.normal(target, 'EtcdMemberAdded', `added etcd member ${action.name} at ${action.peerURL}`);
        break;
      case 'discard-data': {
        const claimName = etcdMemberClaimName(action.name);
        await client.delete(resourcePath({ version: 'v1', resource: 'persistentvolumeclaims', namespace, name: claimName })).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
        this.countWrite(key);
        events.normal(target, 'EtcdMemberDataDiscarded', `discarded the data of ${action.name}, which is no longer a member, so it can join again`);
        break;
      }
      case 'wait':
      case 'none':
        break;
    }

    // Renewed certificates reach etcd by replacing one member's pod at a time (its data stays),
    // and only while every member is healthy, so quorum holds throughout.
    if (action.kind === 'none' && observed.every((m) => m.healthy)) {
      const stale = members.map((m) => pods.get(m.name)).find((pod) => pod?.metadata?.annotations?.[CERTIFICATES_CHECKSUM_ANNOTATION] !== undefined && pod.metadata.annotations[CERTIFICATES_CHECKSUM_ANNOTATION] !== checksum);
      if (stale?.metadata?.name) {
        await client.delete(resourcePath({ version: 'v1', resource: 'pods', namespace, name: stale.metadata.name })).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
        this.countWrite(key);
        events.normal(target, 'EtcdMemberRestarted', `restarting ${stale.metadata.name} to load renewed certificates`);
      }
    }

    const healthy = observed.filter((m) => m.healthy).length;
    const statusMembers = members.map((m) => ({ name: m.name, id: etcdMembers?.find((e) => e.name === m.name)?.id, ready: observed.find((o) => o.name === m.name)?.healthy ?? false }));
    const ready = healthy === members.length && Boolean(etcdMembers);
    const message = action.kind === 'wait' ? action.reason : `${healthy}/${members.length} members healthy${action.kind === 'none' ? '' : `; ${action.kind} ${'name' in action ? action.name : ''}`}`;
    return { ready, reason: ready ? 'MembersHealthy' : action.kind === 'wait' ? 'Waiting' : 'MembersStarting', message, members: formed || etcdMembers ? statusMembers : [] };
  }

  private async reconcileGuest(key: string, cluster: Cluster, spec: DefaultedClusterSpec, endpoint: string, credentials: ReturnType<typeof credentialsFromKubeconfig>): Promise<number> {
    const now = this.now();
    let state = this.guests.get(key);
    const identity = `${credentials.caCertPem}|${endpoint}`;
    if (!state || state.applied !== identity) {
      if (state?.client) forgetGuestApplyState(state.client);
      state = { applied: identity, client: guestClient(endpoint, credentials, cluster.metadata.name) };
      this.guests.set(key, state);
    }
    const guest = state.client as RestClient;
    if (!state.token) {
      const list = await guest.get<{ items: V1Secret[] }>('/api/v1/namespaces/kube-system/secrets', { fieldSelector: 'type=bootstrap.kubernetes.io/token' });
      const tokens = list.items.map((secret) => {
        try {
          return parseBootstrapTokenSecret(secret as unknown as Parameters<typeof parseBootstrapTokenSecret>[0]);
        } catch {
          return undefined;
        }
      }).filter((t): t is BootstrapToken => t !== undefined);
      state.token = newestValidBootstrapToken(tokens, now);
    }
    const rotation = decideBootstrapTokenRotation(state.token, now);
    if (rotation.rotate || !state.token) state.token = generateBootstrapToken({ random: (size) => randomBytes(size), now });
    const objects = renderGuestObjects(spec, { server: endpoint, caCertPem: credentials.caCertPem }, state.token);
    const result = await applyGuestObjects(guest, objects, 'tessera-cluster-operator');
    if (!result.skipped) this.countWrite(key);
    const next = decideBootstrapTokenRotation(state.token, now);
    return next.rotate ? 1000 : Math.max(1000, next.rotateAt.getTime() - now.getTime());
  }

  private async writeStatus(key: string, cluster: Cluster, status: ClusterStatus): Promise<void> {
    const next = { ...status, observedGeneration: cluster.metadata.generation };
    if (semanticEqual(cluster.status ?? {}, next)) return;
    await this.options.client.apply(
      resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusters', namespace: cluster.metadata.namespace ?? 'default', name: cluster.metadata.name, subresource: 'status' }),
      { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: cluster.metadata.name, namespace: cluster.metadata.namespace }, status: next },
      'tessera-cluster-operator-status',
      true,
    );
    this.countWrite(key);
  }

  /** Deletion: remove everything the Cluster owns, wait until it is gone, then the finalizer. */
  private async finalize(key: string, cluster: Cluster): Promise<ReconcileResult | void> {
    const { client, caches, events } = this.options;
    const namespace = cluster.metadata.namespace ?? 'default';
    const selector = `${CLUSTER_LABEL}=${cluster.metadata.name}`;
    const remaining = [caches.deployments, caches.pods, caches.claims, caches.services, caches.secrets].map((informer) => owned(informer as Informer<{ metadata?: { namespace?: string; labels?: Record<string, string> } }>, cluster).length);
    const total = remaining.reduce((a, b) => a + b, 0);
    if (total > 0) {
      for (const resource of [
        { group: 'apps', version: 'v1', resource: 'deployments' },
        { version: 'v1', resource: 'pods' },
        { version: 'v1', resource: 'persistentvolumeclaims' },
        { version: 'v1', resource: 'secrets' },
      ]) {
        await client.delete(resourcePath({ ...resource, namespace }), undefined, { labelSelector: selector });
      }
      // Services have no deletecollection: one by one.
      for (const service of owned(caches.services, cluster)) {
        await client.delete(resourcePath({ version: 'v1', resource: 'services', namespace, name: service.metadata?.name })).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
      }
      events.normal({ apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', name: cluster.metadata.name, namespace, uid: cluster.metadata.uid }, 'Deleting', `deleting ${total} owned object(s)`);
      return { requeueAfter: 1000 };
    }
    if (cluster.metadata.finalizers?.includes(clusterFinalizer)) {
      await removeFinalizer(client, clustersPath(namespace, cluster.metadata.name), cluster, clusterFinalizer);
      this.countWrite(key);
    }
    const guest = this.guests.get(key);
    if (guest?.client) forgetGuestApplyState(guest.client);
    this.guests.delete(key);
  }
}
