// Cordons and drains: a Machine's Node is cordoned from the moment the rollout starts it until its
// checks pass, again while it is rolled back, and for good when it failed. Only a cordon the
// rollout set (status.nodes[].cordoned) is ever lifted. Draining evicts through the Eviction API
// (PodDisruptionBudgets decide; nothing is deleted by force), as the Node operator does.
import type { NodeRollout } from '../../../api/v1alpha1/package-rollout.ts';
import { podsToEvict } from '../../machine/drain.ts';
import { drainRequired } from '../progress.ts';
import type { RolloutPass, RolloutReconcilerOptions } from '../rollout-pass.ts';

const HOLDS_CORDON: readonly NodeRollout['state'][] = ['Draining', 'Upgrading', 'Verifying', 'RollingBack'];
const RELEASES_CORDON: readonly NodeRollout['state'][] = ['Soaking', 'Verified', 'RolledBack'];

export async function ensureCordons(pass: RolloutPass, options: RolloutReconcilerOptions): Promise<void> {
  void options;
  const { guest, nodes } = pass;
  if (!guest || !nodes) return;
  for (const entry of pass.decision.status.nodes ?? []) {
    const seen = nodes.get(entry.machine);
    if (!seen || !entry.node) continue;
    const hold = HOLDS_CORDON.includes(entry.state) || (entry.failed === true && entry.state !== 'Pending');
    if (hold && !seen.unschedulable) await guest.patchNode(entry.node, { unschedulable: true });
    else if (!hold && entry.cordoned && RELEASES_CORDON.includes(entry.state) && seen.unschedulable) await guest.patchNode(entry.node, { unschedulable: false });
    if (entry.state === 'Draining' && drainRequired(pass.rollout)) {
      for (const pod of podsToEvict(await guest.podsOnNode(entry.node))) {
        if (pod.metadata?.deletionTimestamp) continue;
        await guest.evictPod(pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? '');
      }
    }
  }
}
