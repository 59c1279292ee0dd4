// kube-controller-manager: its Deployment at the version the upgrade plan renders, which is never
// newer than the oldest API server.
import type { V1Deployment } from '@kubernetes/client-node';
import type { ClusterComponent } from '../component.ts';
import { renderControllerManagerDeployment } from '../controller-manager-deployment.ts';
import { deploymentName } from '../names.ts';
import { ConditionType } from '../status.ts';
import { deploymentCondition } from './deployment-status.ts';

export const controllerManager: ClusterComponent = {
  name: 'kube-controller-manager',
  dependsOn: ['kube-apiserver'],
  reason: 'it works through the API',
  condition: ConditionType.ControllerManagerAvailable,
  render: (pass) => [renderControllerManagerDeployment(pass.renderContext())],
  observe(pass) {
    const deployment = pass.liveOf<V1Deployment>({ kind: 'Deployment', metadata: { name: deploymentName(pass.name, 'kube-controller-manager') } });
    return { ready: deployment !== undefined, condition: deploymentCondition('kube-controller-manager', deployment) };
  },
};
