// kube-scheduler: its Deployment at the version the upgrade plan renders, which is never newer
// than the oldest API server.
import type { V1Deployment } from '@kubernetes/client-node';
import type { ClusterComponent } from '../component.ts';
import { deploymentName } from '../names.ts';
import { renderSchedulerDeployment } from '../scheduler-deployment.ts';
import { ConditionType } from '../status.ts';
import { deploymentCondition } from './deployment-status.ts';

export const scheduler: ClusterComponent = {
  name: 'kube-scheduler',
  dependsOn: ['kube-apiserver'],
  reason: 'it works through the API',
  condition: ConditionType.SchedulerAvailable,
  render: (pass) => [renderSchedulerDeployment(pass.renderContext())],
  observe(pass) {
    const deployment = pass.liveOf<V1Deployment>({ kind: 'Deployment', metadata: { name: deploymentName(pass.name, 'kube-scheduler') } });
    return { ready: deployment !== undefined, condition: deploymentCondition('kube-scheduler', deployment) };
  },
};
