// When the Node operator may repair a Machine, and how far it escalates. Pure. The rules, after
// the node-lifecycle controller, Machine Health Checks and Karpenter's disruption budgets:
// - never act while the guest API is unreachable (the fault is likely the control plane);
// - never act while more than `maxUnhealthyPercent` of a Cluster's Machines, or of one zone's,
//   are unhealthy at once, unless no more than `minUnhealthyAllowed` are (small pools still heal);
// - at most `maxInFlight` Machines of a Cluster under remediation at once;
// - escalate with cooldowns: restart the service, then reinstall the package, then ask for a
//   replacement (a condition a person or a higher controller acts on).

export type RemediationSettings = {
  maxUnhealthyPercent: number;
  minUnhealthyAllowed: number;
  maxInFlight: number;
  /** Wait between steps, so a restarted kubelet has time to become Ready. */
  cooldownMs: number;
  /** A Node NotReady (with its kubelet service running) this long counts as a fault. */
  notReadyGraceMs: number;
};

export const DEFAULT_REMEDIATION: RemediationSettings = { maxUnhealthyPercent: 55, minUnhealthyAllowed: 1, maxInFlight: 1, cooldownMs: 60_000, notReadyGraceMs: 5 * 60_000 };

export type MachineHealth = { name: string; zone: string; healthy: boolean; remediating: boolean };

export const REMEDIATION_STEPS = ['restart', 'reinstall', 'replace'] as const;
export type RemediationStep = (typeof REMEDIATION_STEPS)[number];

export type RemediationDecision =
  | { action: 'none'; reason: 'Healthy' }
  | { action: 'hold'; reason: 'HeldGuestUnreachable' | 'HeldTooManyUnhealthy' | 'HeldInFlightLimit' | 'HeldByRollout' | 'CoolingDown'; message: string }
  | { action: RemediationStep; step: number; message: string };

export type RemediationInput = {
  machine: MachineHealth;
  /** Every Machine of the same Cluster, this one included. */
  peers: readonly MachineHealth[];
  guestReachable: boolean;
  /** A package rollout changing this Machine now (its verification decides, not remediation). */
  rollout?: string;
  /** The step last taken for this fault and when; undefined when none was. */
  last?: { step: number; time: Date };
  now: Date;
  settings: RemediationSettings;
};

function tooMany(unhealthy: number, total: number, settings: RemediationSettings): boolean {
  if (unhealthy <= settings.minUnhealthyAllowed) return false;
  return (unhealthy / total) * 100 > settings.maxUnhealthyPercent;
}

export function decideRemediation(input: RemediationInput): RemediationDecision {
  const { machine, peers, settings } = input;
  if (machine.healthy) return { action: 'none', reason: 'Healthy' };
  // A rollout upgrading this host owns the outcome: it verifies and rolls back; a restart or a
  // reinstall here would fight it (or reinstall the very version it is rolling back).
  if (input.rollout) return { action: 'hold', reason: 'HeldByRollout', message: `${input.rollout} is changing this Machine: its verification decides (and rolls back), not remediation; no action taken` };
  if (!input.guestReachable) return { action: 'hold', reason: 'HeldGuestUnreachable', message: 'the guest API does not answer: the fault is likely the control plane, not this host; no action taken' };
  const unhealthy = peers.filter((peer) => !peer.healthy).length;
  if (tooMany(unhealthy, peers.length, settings)) {
    return { action: 'hold', reason: 'HeldTooManyUnhealthy', message: `${unhealthy} of ${peers.length} Machines of the Cluster are unhealthy (more than ${settings.maxUnhealthyPercent}%): the likely fault is the network or the control plane; no action taken` };
  }
  const zonePeers = peers.filter((peer) => peer.zone === machine.zone);
  const zoneUnhealthy = zonePeers.filter((peer) => !peer.healthy).length;
  if (tooMany(zoneUnhealthy, zonePeers.length, settings)) {
    return { action: 'hold', reason: 'HeldTooManyUnhealthy', message: `${zoneUnhealthy} of ${zonePeers.length} Machines in zone ${machine.zone} are unhealthy (more than ${settings.maxUnhealthyPercent}%): the likely fault is the zone's network; no action taken` };
  }
  const inFlight = peers.filter((peer) => peer.remediating && peer.name !== machine.name).length;
  if (inFlight >= settings.maxInFlight) return { action: 'hold', reason: 'HeldInFlightLimit', message: `${inFlight} other Machine(s) are under remediation (at most ${settings.maxInFlight} at once)` };
  const step = input.last ? input.last.step + 1 : 0;
  if (input.last && input.now.getTime() - input.last.time.getTime() < settings.cooldownMs) {
    return { action: 'hold', reason: 'CoolingDown', message: `${REMEDIATION_STEPS[input.last.step] ?? 'last step'} taken at ${input.last.time.toISOString()}; waiting ${Math.round(settings.cooldownMs / 1000)} s before escalating` };
  }
  const action = REMEDIATION_STEPS[Math.min(step, REMEDIATION_STEPS.length - 1)] ?? 'replace';
  return { action, step: Math.min(step, REMEDIATION_STEPS.length - 1), message: action === 'replace' ? 'restart and reinstall did not help: replace this host' : `${action} (step ${step + 1} of ${REMEDIATION_STEPS.length})` };
}

/** The Cluster's MachinesHealthy condition: how its Machines are, and whether remediation may act. */
export type ClusterMachinesHealth = { status: 'True' | 'False'; reason: 'AllHealthy' | 'Remediating' | 'HeldGuestUnreachable' | 'HeldTooManyUnhealthy'; message: string };

/**
 * The same rules as decideRemediation, seen from the Cluster: a person looking at the Cluster
 * learns that some Machines are unhealthy and whether Tessera repairs them or holds, and why.
 * `guestReachable` undefined: not known in this pass (the guest rule is then not applied).
 */
export function clusterMachinesHealth(peers: readonly MachineHealth[], guestReachable: boolean | undefined, settings: RemediationSettings): ClusterMachinesHealth {
  const unhealthy = peers.filter((peer) => !peer.healthy);
  if (unhealthy.length === 0) return { status: 'True', reason: 'AllHealthy', message: `${peers.length} Machine(s) healthy` };
  const names = unhealthy.map((peer) => peer.name).sort().join(', ');
  if (guestReachable === false) return { status: 'False', reason: 'HeldGuestUnreachable', message: `${unhealthy.length} of ${peers.length} Machines unhealthy (${names}); the guest API does not answer, so the fault is likely the control plane: no remediation until it does` };
  if (tooMany(unhealthy.length, peers.length, settings)) {
    return { status: 'False', reason: 'HeldTooManyUnhealthy', message: `${unhealthy.length} of ${peers.length} Machines unhealthy (${names}), more than ${settings.maxUnhealthyPercent}%: the likely fault is the network or the control plane, not the hosts; no remediation until fewer are` };
  }
  for (const zone of [...new Set(unhealthy.map((peer) => peer.zone))].sort()) {
    const zonePeers = peers.filter((peer) => peer.zone === zone);
    const zoneUnhealthy = zonePeers.filter((peer) => !peer.healthy).length;
    if (tooMany(zoneUnhealthy, zonePeers.length, settings)) {
      return { status: 'False', reason: 'HeldTooManyUnhealthy', message: `${zoneUnhealthy} of ${zonePeers.length} Machines in zone ${zone || '(none)'} unhealthy (${names}), more than ${settings.maxUnhealthyPercent}%: the likely fault is the zone's network; no remediation there until fewer are` };
    }
  }
  return { status: 'False', reason: 'Remediating', message: `${unhealthy.length} of ${peers.length} Machines unhealthy (${names}); remediation repairs them, at most ${settings.maxInFlight} at once` };
}
