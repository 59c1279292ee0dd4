// How a control-plane Deployment is doing, as a condition: ready replicas out of wanted, and
// whether a rollout is under way.
import type { V1Deployment } from '@kubernetes/client-node';
import type { ComponentStatus } from '../component.ts';
import { Reason } from '../status.ts';

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
