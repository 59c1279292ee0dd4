// How a control-plane Deployment is doing, as a condition: ready replicas out of wanted, and
// whether a rollout is under way; and the component shape the controller-manager and scheduler share.
import type { V1Deployment } from '@kubernetes/client-node';
import type { ClusterComponent, ComponentStatus } from '../component.ts';
import { deploymentName } from '../names.ts';
import type { RenderContext } from '../render-context.ts';
import { Reason, type ClusterConditionType } from '../status.ts';

export function deploymentCondition(what: string, deployment: V1Deployment | undefined): NonNullable<ComponentStatus['condition']> {
  if (!deployment) return { status: 'False', reason: Reason.Progressing, message: `${what}: Deployment not created yet` };
  const wanted = deployment.spec?.replicas ?? 0;
  const status = deployment.status ?? {};
  const ready = status.readyReplicas ?? 0;
  const updated = status.updatedReplicas ?? 0;
  const rolling = (status.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0) || updated < wanted || (status.replicas ?? 0) > wanted;
  const counts = `${ready}/${wanted} ready${rolling ? `, ${updated}/${wanted} updated` : ''}`;
  if (ready === 0) return { status: 'False', reason: rolling || !deployment.status ? Reason.Progressing : Reason.Unavailable, message: `${what}: ${counts}` };
  return { status: 'True', reason: rolling ? Reason.Progressing : Reason.Available, message: `${what}: ${counts}` };
}

/**
 * A component that is one control-plane Deployment working through the API (controller-manager,
 * scheduler): rendered at the plan's version, available by its ready replicas.
 */
export function apiClientDeploymentComponent(
  component: 'kube-controller-manager' | 'kube-scheduler',
  condition: ClusterConditionType,
  render: (context: RenderContext) => V1Deployment,
): ClusterComponent {
  return {
    name: component,
    dependsOn: ['kube-apiserver'],
    reason: 'it works through the API, so it starts once an API server is Ready',
    condition,
    render: (pass) => [render(pass.renderContext())],
    observe(pass) {
      const deployment = pass.liveOf<V1Deployment>({ kind: 'Deployment', metadata: { name: deploymentName(pass.name, component) } });
      return { ready: deployment !== undefined, condition: deploymentCondition(component, deployment) };
    },
  };
}
