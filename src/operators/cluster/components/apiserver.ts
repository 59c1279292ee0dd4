// kube-apiserver: the control-plane Deployment (control-plane-deployment.ts), whose pods also run
// the controller-manager and scheduler, each container at the version the upgrade plan renders.
// Whether the guest's API answers through its Service is guest-api's business.
import type { ClusterComponent } from '../component.ts';
import { renderControlPlaneDeployment } from '../control-plane-deployment.ts';
import { controlPlaneServes, legacyDeployment } from './control-plane-pods.ts';

export const apiServer: ClusterComponent = {
  name: 'kube-apiserver',
  dependsOn: ['etcd'],
  reason: 'the API server stores everything in etcd',
  render: (pass) => [renderControlPlaneDeployment(pass.renderContext())],
  prune: (pass) => legacyDeployment(pass, 'kube-apiserver'),
  // Ready once an API server passes its readiness probe in some pod.
  observe: (pass) => ({ ready: controlPlaneServes(pass) }),
};
