// The guest's own API: the guest counts as available only when /readyz answers ok through its
// Service with the admin kubeconfig. Keeps one connection per guest, rebuilt when the CA or the
// endpoint changes; a periodic full resync makes the next writes into the guest go out even if
// nothing changed, so drift inside the guest (a deleted addon) is repaired.
import type { V1Deployment } from '@kubernetes/client-node';
import type { ClusterComponent, ClusterPass } from '../component.ts';
import { forgetGuestApplyState } from '../guest/apply-to-guest.ts';
import { deploymentName } from '../names.ts';
import { ConditionType, Reason } from '../status.ts';

function connect(pass: ClusterPass): void {
  const { endpoint, credentials } = pass.facts;
  if (!endpoint || !credentials) return;
  const identity = `${credentials.caCertPem}|${credentials.clientCertPem}|${endpoint}`;
  let guest = pass.memory.guest;
  if (!guest || guest.identity !== identity) {
    if (guest) forgetGuestApplyState(guest.api.client);
    guest = { identity, api: pass.options.guest(endpoint, credentials, pass.name), lastFullSync: pass.now.getTime() };
    pass.memory.guest = guest;
  } else if (pass.now.getTime() - guest.lastFullSync >= pass.options.resyncPeriodMs) {
    forgetGuestApplyState(guest.api.client);
    guest.lastFullSync = pass.now.getTime();
  }
}

export const guestApi: ClusterComponent = {
  name: 'guest-api',
  dependsOn: ['kube-apiserver'],
  reason: 'the guest counts as up only when its own API answers through its Service',
  condition: ConditionType.APIServerAvailable,
  render: () => [],
  async observe(pass) {
    connect(pass);
    const deployment = pass.liveOf<V1Deployment>({ kind: 'Deployment', metadata: { name: deploymentName(pass.name, 'kube-apiserver') } });
    const replicas = `${deployment?.status?.readyReplicas ?? 0}/${deployment?.spec?.replicas ?? 0} API servers ready`;
    const guest = pass.memory.guest;
    if (!guest) return { ready: false, condition: { status: 'False', reason: Reason.ReadyzFailing, message: `${replicas}; no admin kubeconfig yet` } };
    const readyz = await guest.api.readyz();
    if (!readyz.ready) {
      return { ready: false, condition: { status: 'False', reason: Reason.ReadyzFailing, message: `${replicas}; /readyz at ${pass.facts.endpoint}: ${readyz.detail}` } };
    }
    pass.facts.guest = guest.api;
    return { ready: true, condition: { status: 'True', reason: Reason.ReadyzOK, message: `${replicas}; /readyz answers ok at ${pass.facts.endpoint}` } };
  },
};
