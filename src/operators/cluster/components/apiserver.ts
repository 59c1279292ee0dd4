// kube-apiserver: its Deployment, at the version the upgrade plan renders. Whether the guest's
// API answers through its Service is guest-api's business.
import type { V1Deployment } from '@kubernetes/client-node';
import { renderApiServerDeployment } from '../apiserver-deployment.ts';
import type { ClusterComponent } from '../component.ts';
import { deploymentName } from '../names.ts';

export const apiServer: ClusterComponent = {
  name: 'kube-apiserver',
  dependsOn: ['etcd'],
  reason: 'the API server stores everything in etcd',
  render: (pass) => [renderApiServerDeployment(pass.renderContext())],
  // Ready once an API server passes its readiness probe. The controller-manager and the scheduler
  // start only then, as in Gardener's flow: started beside it, their own start competed with the
  // API server's for CPU and made a new guest's API answer about 0.3 s later (guest-control-plane).
  observe(pass) {
    const deployment = pass.liveOf<V1Deployment>({ kind: 'Deployment', metadata: { name: deploymentName(pass.name, 'kube-apiserver') } });
    return { ready: (deployment?.status?.readyReplicas ?? 0) > 0 };
  },
};
