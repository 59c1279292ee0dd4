// One component per addon of guest/addons/addon-set.ts (CoreDNS, kube-proxy): its objects are
// applied inside the guest at the version the upgrade plan gives the addons (never newer than
// the oldest control-plane part), and everything labelled as this addon that is no longer
// rendered is deleted from the guest; a disabled addon loses all its objects.
import { ComponentError, type ClusterComponent, type ClusterPass } from '../component.ts';
import { applyGuestObjects, pruneGuestObjects } from '../guest/apply-to-guest.ts';
import { ADDON_LABEL, renderAddon, type AddonName } from '../guest/addons/addon-set.ts';
import type { GuestClusterSpec } from '../guest/guest-cluster-spec.ts';
import { ConditionType, Reason, type ClusterConditionType } from '../status.ts';

const conditionOf: Record<AddonName, ClusterConditionType> = { coredns: ConditionType.CoreDNSReady, 'kube-proxy': ConditionType.KubeProxyReady };

/** The spec addons render from: the user's addon entries as written (a version given wins), at the plan's version. */
function addonSpec(pass: ClusterPass): GuestClusterSpec {
  return { version: pass.plan.render.addons, network: pass.spec.network, addons: pass.cluster.spec.addons ?? [] };
}

export function addonComponent(name: AddonName): ClusterComponent {
  return {
    name,
    dependsOn: ['guest-bootstrap'],
    reason: 'addons run with the RBAC and ConfigMaps the bootstrap writes',
    condition: conditionOf[name],
    render: () => [],
    async act(pass) {
      const { guest, endpoint, credentials } = pass.facts;
      if (!guest || !endpoint || !credentials) throw new ComponentError(Reason.DependencyNotReady, 'the guest API does not answer');
      const rendered = renderAddon(name, addonSpec(pass), { server: endpoint, caCertPem: credentials.caCertPem });
      try {
        if (rendered) {
          const applied = await applyGuestObjects(guest.client, rendered.objects, pass.options.fieldManager, `addon:${name}`);
          if (!applied.skipped) pass.countWrite();
        }
        const pruned = await pruneGuestObjects(guest.client, rendered?.objects ?? [], `${ADDON_LABEL}=${name}`);
        if (pruned.deleted.length > 0) {
          pass.countWrite();
          pass.normal('AddonPruned', `deleted ${pruned.deleted.join(', ')} of ${name} from the guest${rendered ? '' : ' (disabled)'}`);
        }
      } catch (error) {
        throw new ComponentError(Reason.ApplyFailed, `${name}: ${(error as Error).message}`, { cause: error });
      }
      (pass.facts.addons ??= new Map()).set(name, rendered?.version ?? 'disabled');
    },
    observe(pass) {
      const version = pass.facts.addons?.get(name);
      if (version === 'disabled') return { ready: true, condition: { status: 'True', reason: Reason.Disabled, message: `${name} is disabled; none of its objects remain in the guest` } };
      return { ready: true, condition: { status: 'True', reason: Reason.Applied, message: `${name} ${version} applied` } };
    },
  };
}
