// The guest's own API: the guest counts as available only when /readyz answers ok through its
// Service with the admin kubeconfig. Keeps one connection per guest, rebuilt when the CA or the
// endpoint changes; a periodic full resync makes the next writes into the guest go out even if
// nothing changed, so drift inside the guest (a deleted addon) is repaired.
import type { ClusterComponent, ClusterPass } from '../component.ts';
import { forgetGuestApplyState } from '../guest/apply-to-guest.ts';
import { controlPlaneDeployment, readyApiServers } from './control-plane-pods.ts';
import { replicasFor } from '../render-context.ts';
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
  // Not on kube-apiserver, which is ready only once an API server pod is: this component says how
  // the API answers at any time, an outage included.
  dependsOn: ['services', 'pki'],
  reason: 'it asks the guest through its Service with the admin credentials',
  condition: ConditionType.APIServerAvailable,
  render: () => [],
  async observe(pass) {
    connect(pass);
    const deployment = controlPlaneDeployment(pass);
    const ready = readyApiServers(pass);
    // Before its Deployment exists (this component runs beside it), the replicas it will ask for:
    // a message that changed from 0/0 to 0/1 would cost a status write of its own.
    const replicas = `${ready}/${deployment?.spec?.replicas ?? replicasFor(pass.spec.mode)} API servers ready`;
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
