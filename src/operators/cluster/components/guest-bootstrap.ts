// Inside the guest: bootstrap RBAC, the tessera:* group bindings, cluster-info and one valid
// bootstrap token, so machines can join. The token is read back from the guest once per
// connection and rotated before it expires.
import type { V1Secret } from '@kubernetes/client-node';
import { ComponentError, type ClusterComponent, type ClusterPass } from '../component.ts';
import { applyGuestObjects, guestObjectPath } from '../guest/apply-to-guest.ts';
import { RETIRED_BOOTSTRAP_RBAC, renderBootstrapRbac } from '../guest/bootstrap-rbac.ts';
import { isNotFound } from '../../../controller/rest-client.ts';
import {
  BOOTSTRAP_TOKEN_SECRET_TYPE,
  decideBootstrapTokenRotation,
  generateBootstrapToken,
  newestValidBootstrapToken,
  parseBootstrapTokenSecret,
  renderBootstrapTokenSecret,
  type BootstrapToken,
} from '../guest/bootstrap-token.ts';
import { renderClusterInfo } from '../guest/cluster-info.ts';
import { renderUserGroupBindings } from '../guest/user-groups.ts';
import { ConditionType, Reason } from '../status.ts';

async function currentToken(pass: ClusterPass): Promise<BootstrapToken> {
  const guest = pass.facts.guest;
  if (!guest) throw new ComponentError(Reason.DependencyNotReady, 'the guest API does not answer');
  if (!pass.memory.bootstrapToken) {
    const list = await guest.client.get<{ items: V1Secret[] }>('/api/v1/namespaces/kube-system/secrets', { fieldSelector: `type=${BOOTSTRAP_TOKEN_SECRET_TYPE}` });
    const tokens = list.items.flatMap((secret) => {
      try {
        return [parseBootstrapTokenSecret(secret as Parameters<typeof parseBootstrapTokenSecret>[0])];
      } catch (error) {
        pass.options.logger.debug('ignoring a bootstrap token Secret Tessera cannot parse', { cluster: pass.key, secret: secret.metadata?.name, error: (error as Error).message });
        return [];
      }
    });
    pass.memory.bootstrapToken = newestValidBootstrapToken(tokens, pass.now);
  }
  const rotation = decideBootstrapTokenRotation(pass.memory.bootstrapToken, pass.now);
  if (rotation.rotate || !pass.memory.bootstrapToken) {
    pass.memory.bootstrapToken = generateBootstrapToken({ random: pass.options.random, now: pass.now });
    pass.normal('BootstrapTokenRotated', `issued bootstrap token ${pass.memory.bootstrapToken.id} for joining machines`);
  }
  return pass.memory.bootstrapToken;
}

export const guestBootstrap: ClusterComponent = {
  name: 'guest-bootstrap',
  dependsOn: ['guest-api', 'kube-controller-manager', 'kube-scheduler'],
  reason: 'RBAC, cluster-info and the bootstrap token go in once the control plane is whole',
  condition: ConditionType.GuestBootstrapped,
  render: () => [],
  async act(pass) {
    const guest = pass.facts.guest;
    const { endpoint, credentials } = pass.facts;
    if (!guest || !endpoint || !credentials) throw new ComponentError(Reason.DependencyNotReady, 'the guest API does not answer');
    const token = await currentToken(pass);
    const objects = [...renderBootstrapRbac(), ...renderUserGroupBindings(), renderClusterInfo({ server: endpoint, caCertPem: credentials.caCertPem }), renderBootstrapTokenSecret(token)];
    try {
      const result = await applyGuestObjects(guest.client, objects, pass.options.fieldManager, 'bootstrap');
      if (!result.skipped) {
        pass.countWrite();
        // With every apply (first pass, resync): objects earlier versions made that must go.
        for (const retired of RETIRED_BOOTSTRAP_RBAC) await guest.client.delete(guestObjectPath(retired)).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
      }
    } catch (error) {
      throw new ComponentError(Reason.ApplyFailed, (error as Error).message, { cause: error });
    }
    const next = decideBootstrapTokenRotation(token, pass.now);
    pass.requeueWithin(next.rotate ? 1000 : Math.max(1000, next.rotateAt.getTime() - pass.now.getTime()));
  },
  observe: (pass) => ({ ready: true, condition: { status: 'True', reason: Reason.Applied, message: `join configuration applied (bootstrap token ${pass.memory.bootstrapToken?.id ?? 'none'})` } }),
};
