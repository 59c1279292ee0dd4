// A guest's control plane sized by its tier (spec.tier, else the tier the tiering controller
// measured into status.tier, else the TierPolicy's default): each component gets the tier's
// requests and limits and the API server its max-inflight settings, unless the Cluster sets its
// own. A tier change then rolls the control plane like any other change: Deployments one replica
// at a time, etcd members one at a time.
import type { DefaultedClusterSpec } from '../../api/v1alpha1/cluster.ts';
import type { TierResources } from '../tiering/tiers.ts';

export function withTierResources(spec: DefaultedClusterSpec, tier: TierResources): DefaultedClusterSpec {
  const { controlPlane } = spec;
  const sized = <T extends { resources?: DefaultedClusterSpec['controlPlane']['apiServer']['resources'] }>(component: T, resources: TierResources['apiServer']): T =>
    component.resources ? component : { ...component, resources: structuredClone(resources) as T['resources'] };
  const apiServer = sized(controlPlane.apiServer, tier.apiServer);
  return {
    ...spec,
    controlPlane: {
      ...controlPlane,
      apiServer: {
        ...apiServer,
        extraArgs: {
          'max-requests-inflight': String(tier.apiServerMaxRequestsInflight),
          'max-mutating-requests-inflight': String(tier.apiServerMaxMutatingRequestsInflight),
          ...apiServer.extraArgs,
        },
      },
      controllerManager: sized(controlPlane.controllerManager, tier.controllerManager),
      scheduler: sized(controlPlane.scheduler, tier.scheduler),
      etcd: sized(controlPlane.etcd, tier.etcd),
    },
  };
}
