// The control-plane pods as the components see them: whether an API server among them serves,
// how one container is doing across them (ready in how many, out of the replicas wanted, and
// whether a rollout is under way), the Deployments of older operators that they replace, and the
// component shape the controller-manager and scheduler share.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { containerStatusOf } from '../running-versions.ts';
import type { ClusterComponent, ClusterPass, ComponentStatus, MetaObject } from '../component.ts';
import { COMPONENT_LABEL, controlPlaneDeploymentName, legacyDeploymentName, type ControlPlaneContainer } from '../names.ts';
import { Reason, type ClusterConditionType } from '../status.ts';

/** The control-plane Deployment as the pass sees it. */
export function controlPlaneDeployment(pass: ClusterPass): V1Deployment | undefined {
  return pass.liveOf<V1Deployment>({ kind: 'Deployment', metadata: { name: controlPlaneDeploymentName(pass.name) } });
}

export function containerCondition(container: ControlPlaneContainer, deployment: V1Deployment | undefined, pods: readonly V1Pod[]): NonNullable<ComponentStatus['condition']> {
  if (!deployment) return { status: 'False', reason: Reason.Progressing, message: `${container}: the control-plane Deployment is not created yet` };
  const wanted = deployment.spec?.replicas ?? 0;
  const status = deployment.status ?? {};
  const ready = pods.filter((pod) => !pod.metadata?.deletionTimestamp && containerStatusOf(pod, container)?.ready === true).length;
  const updated = status.updatedReplicas ?? 0;
  const rolling = (status.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0) || updated < wanted || (status.replicas ?? 0) > wanted;
  const counts = `${ready}/${wanted} ready${rolling ? `, ${updated}/${wanted} updated` : ''}`;
  if (ready === 0) return { status: 'False', reason: rolling || !deployment.status ? Reason.Progressing : Reason.Unavailable, message: `${container}: ${counts}` };
  return { status: 'True', reason: rolling ? Reason.Progressing : Reason.Available, message: `${container}: ${counts}` };
}

/** The control-plane pods of the pass's guest. */
export function controlPlanePods(pass: ClusterPass): V1Pod[] {
  return pass.owned(pass.options.caches.pods).filter((pod) => pod.metadata?.labels?.[COMPONENT_LABEL] === 'control-plane');
}

/** How many control-plane pods (not being deleted) have a ready API server. */
export function readyApiServers(pass: ClusterPass): number {
  return controlPlanePods(pass).filter((pod) => !pod.metadata?.deletionTimestamp && containerStatusOf(pod, 'kube-apiserver')?.ready === true).length;
}

/** Whether an API server of the control-plane pods is ready. */
export function controlPlaneServes(pass: ClusterPass): boolean {
  return controlPlaneDeployment(pass) !== undefined && readyApiServers(pass) > 0;
}

/** Whether the guest still has `container`'s Deployment from before the control plane became one Deployment. */
export function hasLegacyDeployment(pass: ClusterPass, container: ControlPlaneContainer): boolean {
  return pass.liveOf({ kind: 'Deployment', metadata: { name: legacyDeploymentName(pass.name, container) } }) !== undefined;
}

/**
 * The Deployment a guest had for `container` before the control plane became one Deployment:
 * pruned once a control-plane pod serves (the Services select those pods from then on), so an
 * operator upgrade leaves no second copy running and the guest's API no moment without a server.
 * Two controller-managers or schedulers side by side meanwhile are safe: they elect one leader.
 */
export function legacyDeployment(pass: ClusterPass, container: ControlPlaneContainer): MetaObject[] {
  if (!hasLegacyDeployment(pass, container) || !controlPlaneServes(pass)) return [];
  return [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: legacyDeploymentName(pass.name, container), namespace: pass.namespace } }];
}

/**
 * A container of the control-plane pods that works through the API (controller-manager,
 * scheduler): rendered with the Deployment by kube-apiserver at the plan's version, available by
 * the pods it is ready in. The kubelet starts it once the API server's startup probe passes.
 */
export function apiClientContainerComponent(component: 'kube-controller-manager' | 'kube-scheduler', condition: ClusterConditionType): ClusterComponent {
  return {
    name: component,
    dependsOn: ['kube-apiserver'],
    reason: 'it runs in the pods the API server component renders',
    condition,
    render: () => [],
    prune: (pass) => legacyDeployment(pass, component),
    observe(pass) {
      const deployment = controlPlaneDeployment(pass);
      return { ready: deployment !== undefined, condition: containerCondition(component, deployment, controlPlanePods(pass)) };
    },
  };
}
