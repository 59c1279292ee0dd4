// Deciding the next step for a guest's etcd members. Pure: the reconciler observes members,
// pods and claims, asks for one action, carries it out, and asks again on the next pass, so at
// most one member changes at a time and the operator never breaks quorum.
//
// A member whose pod is lost but whose data (claim) survives is simply started again: it
// rejoins with its identity. A member whose data is lost is replaced under the same name by
// removing the old member and adding a new one (etcd's documented replacement procedure),
// only while every other member is healthy.
import type { EtcdMember } from './etcd-client.ts';

export type MemberObservation = {
  name: string;
  peerURL: string;
  podExists: boolean;
  podTerminating: boolean;
  /** The member's data survives: its claim exists (or it uses a volumeSource that does). */
  dataExists: boolean;
  /** Its old claim is being deleted (the claim protection keeps it while a pod still uses it). */
  dataTerminating: boolean;
  healthy: boolean;
};

export type MembershipAction =
  | { kind: 'bootstrap'; members: string[] }
  | { kind: 'start'; name: string; state: 'new' | 'existing' }
  | { kind: 'remove'; name: string; id: string }
  | { kind: 'add'; name: string; peerURL: string }
  /** Data of a member that is no longer registered cannot rejoin: discard it, then add anew. */
  | { kind: 'discard-data'; name: string }
  | { kind: 'wait'; reason: string }
  | { kind: 'none' };

export function quorum(size: number): number {
  return Math.floor(size / 2) + 1;
}

export function nextMembershipAction(input: {
  /** True once the etcd cluster formed (its members answered at least once). */
  formed: boolean;
  observed: MemberObservation[];
  /** The member list from etcd, when it could be read. */
  members: EtcdMember[] | undefined;
}): MembershipAction {
  const { formed, observed, members } = input;
  if (!formed) {
    const missing = observed.filter((m) => !m.podExists);
    return missing.length ? { kind: 'bootstrap', members: missing.map((m) => m.name) } : { kind: 'none' };
  }
  if (!members) {
    // No member answers: restart members whose data survives (a full outage), nothing else.
    const restartable = observed.find((m) => !m.podExists && m.dataExists);
    return restartable ? { kind: 'start', name: restartable.name, state: 'existing' } : { kind: 'wait', reason: 'no etcd member answers' };
  }
  for (const member of observed) {
    if (member.podExists || member.podTerminating) continue;
    const registered = members.find((m) => m.name === member.name || m.peerURLs.includes(member.peerURL));
    const others = observed.filter((m) => m.name !== member.name);
    const othersHealthy = others.every((m) => m.healthy);
    if (member.dataExists && registered) return { kind: 'start', name: member.name, state: 'existing' };
    // Data lost: replace the member, but only with every other member healthy.
    if (!othersHealthy) return { kind: 'wait', reason: `member ${member.name} lost its data; waiting for the other members to be healthy before replacing it` };
    if (registered && registered.name !== '' && !member.dataExists) {
      if (members.filter((m) => m.id !== registered.id).length < quorum(members.length - 1)) {
        return { kind: 'wait', reason: `removing ${member.name} would break quorum` };
      }
      return { kind: 'remove', name: member.name, id: registered.id };
    }
    if (registered && registered.name === '') {
      // A pod started now would name the old claim, still terminating, and never be scheduled:
      // the claim is created again only once the old one is gone.
      if (member.dataTerminating) return { kind: 'wait', reason: `member ${member.name} is added; waiting for its old claim to be deleted before starting it on a new one` };
      return { kind: 'start', name: member.name, state: 'existing' };
    }
    if (member.dataExists) return { kind: 'discard-data', name: member.name };
    return { kind: 'add', name: member.name, peerURL: member.peerURL };
  }
  return { kind: 'none' };
}
