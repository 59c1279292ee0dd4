// kube-apiserver: its Deployment, at the version the upgrade plan renders. Whether the guest's
// API answers is guest-api's business.
import { renderApiServerDeployment } from '../apiserver-deployment.ts';
import type { ClusterComponent } from '../component.ts';

export const apiServer: ClusterComponent = {
  name: 'kube-apiserver',
  dependsOn: ['etcd'],
  reason: 'the API server stores everything in etcd',
  render: (pass) => [renderApiServerDeployment(pass.renderContext())],
  observe: () => ({ ready: true }),
};
