// etcd: one Pod (and claim) per member, created and replaced through etcd's own membership API
// one step at a time (etcd-membership.ts decides), so quorum is never broken by the operator.
// A member whose pod runs an old revision (another version, extraArgs, resources or
// certificates) is restarted on its data, one at a time and only while every member is healthy:
// that is how etcd upgrades and how renewed certificates reach it.
import type { V1Pod } from '@kubernetes/client-node';
import { ComponentError, type ClusterComponent, type ClusterPass, type EtcdApi } from '../component.ts';
import type { EtcdMember } from '../etcd-client.ts';
import { etcdMemberRevision, etcdPeerURL, initialEtcdMembers, renderEtcdMember, ETCD_CLIENT_PORT } from '../etcd-member.ts';
import { nextMembershipAction, quorum, type MemberObservation } from '../etcd-membership.ts';
import { COMPONENT_LABEL, ETCD_MEMBER_REVISION_ANNOTATION, etcdClientServiceName, etcdMemberClaimName, serviceDnsName } from '../names.ts';
import { pathOf } from '../owned-objects.ts';
import { pkiSecretNames } from '../pki/certificate-set.ts';
import type { DesiredEtcdMember } from '../render-context.ts';
import { containerStatusOf, isPodReady, podVersion } from '../running-versions.ts';
import { ConditionType, Reason } from '../status.ts';
import { stepPosition } from '../upgrade-plan.ts';
import { controlPlaneDeployment } from './control-plane-pods.ts';

/** The member's etcd process has started (it may not serve yet): its pod has an address. */
function memberProcessStarted(pod: V1Pod | undefined): boolean {
  return pod !== undefined && !pod.metadata?.deletionTimestamp && containerStatusOf(pod, 'etcd')?.state?.running !== undefined;
}

function etcdConnection(pass: ClusterPass): EtcdApi | undefined {
  const secret = pass.facts.secrets?.get(pkiSecretNames(pass.name).etcdOperatorClient);
  const serviceIP = pass.facts.etcdClientIP;
  if (!secret?.data || !serviceIP) return undefined;
  // The Secret's resourceVersion moves with every change of its certificate.
  const identity = `${serviceIP}|${secret.metadata?.resourceVersion ?? ''}`;
  const kept = pass.memory.etcd;
  if (kept?.identity === identity) return kept.api;
  const decode = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
  const api = pass.options.etcd(`https://${serviceIP}:${ETCD_CLIENT_PORT}`, { caPem: decode('ca.crt'), certPem: decode('tls.crt'), keyPem: decode('tls.key') }, serviceDnsName(etcdClientServiceName(pass.name), pass.namespace, pass.options.metaClusterDomain));
  pass.memory.etcd = { identity, api };
  return api;
}

async function reconcileMembers(pass: ClusterPass): Promise<{ ready: boolean; reason: string; message: string; created: string[] }> {
  const members = initialEtcdMembers(pass.name, pass.spec.mode);
  const context = pass.renderContext();
  const pods = new Map(pass.owned(pass.options.caches.pods).filter((pod) => pod.metadata?.labels?.[COMPONENT_LABEL] === 'etcd').map((pod) => [pod.metadata?.name ?? '', pod]));
  const claims = pass.ownedByName(pass.options.caches.claims);
  const usesClaims = Boolean(pass.spec.controlPlane.etcd.storage.claimTemplate);
  const observed: MemberObservation[] = members.map((member) => {
    const pod = pods.get(member.name);
    const claim = claims.get(etcdMemberClaimName(member.name));
    return {
      name: member.name,
      peerURL: etcdPeerURL(context, member.name),
      podExists: Boolean(pod) && !pod?.metadata?.deletionTimestamp,
      podTerminating: Boolean(pod?.metadata?.deletionTimestamp),
      dataExists: usesClaims ? Boolean(claim) && !claim?.metadata?.deletionTimestamp : Boolean(pod),
      dataTerminating: Boolean(claim?.metadata?.deletionTimestamp),
      healthy: isPodReady(pod),
    };
  });

  const etcd = etcdConnection(pass);
  let registered: EtcdMember[] | undefined;
  if (etcd && observed.some((member) => member.healthy)) {
    try {
      registered = await etcd.listMembers();
    } catch (error) {
      // Not fatal: with no answer the decision below only restarts members whose data survives.
      pass.options.logger.warn('etcd member list failed', { cluster: pass.key, error: (error as Error).message });
    }
  }
  const formed = Boolean(pass.cluster.status?.etcdMembers?.length) || Boolean(registered?.length);
  const action = nextMembershipAction({ formed, observed, members: registered });

  const created: string[] = [];
  const createMember = async (member: DesiredEtcdMember, state: 'new' | 'existing') => {
    created.push(member.name);
    const peers = state === 'new' ? members : members.filter((m) => m.name === member.name || (registered ?? []).some((e) => e.name === m.name || e.peerURLs.includes(etcdPeerURL(context, m.name))));
    const rendered = renderEtcdMember({ ...context, etcdMembers: peers.map((m) => ({ ...m, state })) }, { ...member, state });
    if (rendered.persistentVolumeClaim && !claims.get(rendered.persistentVolumeClaim.metadata?.name ?? '')) {
      await pass.options.client.apply(pathOf(rendered.persistentVolumeClaim), rendered.persistentVolumeClaim, pass.options.fieldManager, true);
      pass.countWrite();
    }
    await pass.options.client.apply(pathOf(rendered.pod), rendered.pod, pass.options.fieldManager, true);
    pass.countWrite();
  };
  const requireEtcd = (): EtcdApi => {
    if (!etcd) throw new ComponentError(Reason.QuorumWait, 'etcd cannot be reached: no operator client certificate or client Service yet');
    return etcd;
  };

  switch (action.kind) {
    case 'bootstrap':
      for (const name of action.members) {
        const member = members.find((m) => m.name === name);
        if (member) await createMember(member, 'new');
      }
      pass.normal('EtcdBootstrapping', `starting etcd members ${action.members.join(', ')}`);
      break;
    case 'start': {
      const member = members.find((m) => m.name === action.name);
      if (member) await createMember(member, action.state);
      pass.normal('EtcdMemberStarted', `started etcd member ${action.name} (${action.state} cluster)`);
      break;
    }
    case 'remove':
      await requireEtcd().removeMember(action.id);
      pass.normal('EtcdMemberRemoved', `removed etcd member ${action.name} (id ${action.id}), whose data was lost, to replace it`);
      break;
    case 'add':
      await requireEtcd().addMember(action.peerURL);
      pass.normal('EtcdMemberAdded', `added etcd member ${action.name} at ${action.peerURL}`);
      break;
    case 'discard-data':
      await pass.remove({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: etcdMemberClaimName(action.name), namespace: pass.namespace } }, 'its member is no longer registered');
      pass.normal('EtcdMemberDataDiscarded', `discarded the data of ${action.name}, which is no longer a member, so it can join again`);
      break;
    case 'wait':
    case 'none':
      break;
  }

  // A member on an old revision is restarted on its data: one at a time, only while every
  // member is healthy and the cluster keeps quorum without it.
  const revision = etcdMemberRevision(context);
  const stale = members.map((m) => pods.get(m.name)).filter((pod): pod is V1Pod => pod !== undefined && pod.metadata?.annotations?.[ETCD_MEMBER_REVISION_ANNOTATION] !== revision);
  let rolling: string | undefined;
  if (action.kind === 'none' && stale.length > 0) {
    const allHealthy = observed.every((member) => member.healthy);
    const terminating = observed.some((member) => member.podTerminating);
    // With every member healthy, one restarting leaves a quorum (a Minimal guest's single
    // member is briefly down: it has no redundancy to spend).
    if (allHealthy && !terminating) {
      const pod = stale[0] as V1Pod;
      await pass.remove(pod, 'its revision is out of date');
      const version = podVersion(pod);
      const target = pass.plan.render.etcd;
      rolling = pod.metadata?.name;
      if (version !== undefined && version !== target) {
        pass.normal('UpgradeStep', `restarting etcd member ${pod.metadata?.name} at ${target} (from ${version}; ${stepPosition(0)}, member ${members.length - stale.length + 1} of ${members.length})`);
      } else {
        pass.normal('EtcdMemberRestarted', `restarting ${pod.metadata?.name} to load its new revision (certificates or flags changed)`);
      }
    }
  }

  const healthy = observed.filter((member) => member.healthy).length;
  pass.facts.etcdMembers =
    formed || registered ? members.map((m) => ({ name: m.name, id: registered?.find((e) => e.name === m.name)?.id, ready: observed.find((o) => o.name === m.name)?.healthy ?? false })) : [];
  const ready = healthy === members.length && Boolean(registered) && stale.length === 0;
  if (action.kind === 'wait') return { ready: false, reason: Reason.QuorumWait, message: action.reason, created };
  if (ready) return { ready: true, reason: Reason.MembersHealthy, message: `${healthy}/${members.length} members healthy`, created };
  // A step that spans passes (a member added, removed, started) is named; the bootstrap is the
  // first pass's alone, and naming it made every new guest's status change once more for
  // nothing (its Event, EtcdBootstrapping, records it).
  const step = action.kind === 'none' || action.kind === 'bootstrap' ? '' : `; ${action.kind} ${'name' in action ? action.name : ''}`;
  const roll = stale.length > 0 ? `; ${stale.length} member(s) to restart for a new revision${rolling ? ` (restarting ${rolling})` : ''}` : '';
  const degraded = formed && healthy >= quorum(members.length) && healthy < members.length;
  return { ready: false, reason: degraded ? Reason.Degraded : Reason.MembersStarting, message: `${healthy}/${members.length} members healthy${step}${roll}`, created };
}

export const etcd: ClusterComponent = {
  name: 'etcd',
  dependsOn: ['services', 'pki'],
  reason: 'members find each other through the headless Service and talk TLS',
  condition: ConditionType.EtcdReady,
  // Member pods are created by membership steps (act), never all at once from a template.
  render: () => [],
  async act(pass) {
    const result = await reconcileMembers(pass);
    // Dependents may be created once every member runs, before etcd is Ready: the upgrade plan,
    // not this readiness, orders version changes. The first API servers wait until every member
    // process has started: kube-apiserver dials the members by their DNS names, which resolve
    // only once a member pod has an address, and a dial that fails waits out gRPC's reconnect
    // backoff (1 s, then longer), which cost a new guest about a second of its start. Once the
    // control plane exists, a member restarting (an upgrade, renewed certificates) holds nothing.
    const members = initialEtcdMembers(pass.name, pass.spec.mode);
    const pods = pass.ownedByName(pass.options.caches.pods);
    const exist = result.ready || members.every((member) => pods.has(member.name) || result.created.includes(member.name)) || (pass.facts.etcdMembers?.length ?? 0) > 0;
    const running = result.ready || members.every((member) => memberProcessStarted(pods.get(member.name)));
    pass.facts.etcd = { ready: controlPlaneDeployment(pass) ? exist : running, condition: { status: result.ready ? 'True' : 'False', reason: result.reason, message: result.message } };
  },
  observe: (pass) => pass.facts.etcd ?? { ready: false },
};
