// Tiers as data: what a tier gives each control-plane component, what a guest of a tier asks of
// its cell, and which tier a guest is on. Pure; the Cluster operator renders with
// tierResources(), the placement controller counts guestRequests().
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import { defaultTierPolicySpec, type Tier, type TierPolicySpec } from '../../api/v1alpha1/tier-policy.ts';
import { parseQuantity } from '../../plan/quantity.ts';

export type TierResources = {
  tier: string;
  etcd: V1ResourceRequirements;
  apiServer: V1ResourceRequirements;
  controllerManager: V1ResourceRequirements;
  scheduler: V1ResourceRequirements;
  /** kube-apiserver --max-requests-inflight and --max-mutating-requests-inflight. */
  apiServerMaxRequestsInflight: number;
  apiServerMaxMutatingRequestsInflight: number;
};

/** Amounts in base units: cores, bytes, pods, bytes of volume. */
export type Resources = { cpu: number; memory: number; pods: number; storage: number };
export const resourceNames = ['cpu', 'memory', 'pods', 'storage'] as const;
export type ResourceName = (typeof resourceNames)[number];

export function findTier(name: string, policy: TierPolicySpec = defaultTierPolicySpec): Tier {
  const tier = policy.tiers.find((candidate) => candidate.name === name);
  if (!tier) throw new Error(`tier "${name}" is not in the TierPolicy (tiers: ${policy.tiers.map((t) => t.name).join(', ')}): set spec.tier to one of them or add it to the TierPolicy`);
  return tier;
}

const copy = (requirements: Tier['etcd']): V1ResourceRequirements => ({
  ...(requirements.requests ? { requests: { ...requirements.requests } } : {}),
  ...(requirements.limits ? { limits: { ...requirements.limits } } : {}),
});

/** The control-plane resources of a tier; throws naming the tier and the known ones. */
export function tierResources(tierName: string, policy: TierPolicySpec = defaultTierPolicySpec): TierResources {
  const tier = findTier(tierName, policy);
  return {
    tier: tier.name,
    etcd: copy(tier.etcd),
    apiServer: copy(tier.apiServer),
    controllerManager: copy(tier.controllerManager),
    scheduler: copy(tier.scheduler),
    apiServerMaxRequestsInflight: tier.apiServerMaxRequestsInflight,
    apiServerMaxMutatingRequestsInflight: tier.apiServerMaxMutatingRequestsInflight,
  };
}

const request = (requirements: Tier['etcd'], resource: 'cpu' | 'memory') => parseQuantity(requirements.requests?.[resource] ?? '0') ?? 0;

/** What a guest of this tier and mode asks of its cell: every replica of every component, and each etcd member's volume. */
export function guestRequests(tier: Tier, mode: 'Standard' | 'Minimal'): Resources {
  const replicas = mode === 'Standard' ? 3 : 1;
  const components = [tier.etcd, tier.apiServer, tier.controllerManager, tier.scheduler];
  return {
    cpu: replicas * components.reduce((sum, component) => sum + request(component, 'cpu'), 0),
    memory: replicas * components.reduce((sum, component) => sum + request(component, 'memory'), 0),
    pods: replicas * components.length,
    storage: replicas * (parseQuantity(tier.etcdVolumeSize) ?? 0),
  };
}

/**
 * The tier a guest runs at: spec.tier when pinned, else the one the tiering controller chose
 * (status.tier), else the policy's default. A name the policy no longer has falls back to the
 * default, so a guest is never left without resources.
 */
export function currentTier(cluster: Pick<Cluster, 'spec' | 'status'>, policy: TierPolicySpec = defaultTierPolicySpec): Tier {
  for (const name of [cluster.spec.tier, cluster.status?.tier]) {
    const tier = name === undefined ? undefined : policy.tiers.find((candidate) => candidate.name === name);
    if (tier) return tier;
  }
  return findTier(policy.defaultTier, policy);
}
