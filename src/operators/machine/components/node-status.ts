// NodeReady: the guest Node's Ready condition, and the Node kept in the Machine's image: zone,
// idc, role, labels, taints, and an annotation naming the Machine (status.nodeName names the Node).
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { semanticEqual } from '../../../controller/status.ts';
import { setCondition, type MachinePass, type MachineReconcilerOptions } from '../machine-pass.ts';
import { MachineCondition, MachineReason } from '../status.ts';
import { ZONE_LABEL } from './join.ts';

export const MACHINE_ANNOTATION = 'tessera.dev/machine';

export function desiredNodeLabels(pass: MachinePass): Record<string, string> {
  const spec = pass.machine.spec;
  return {
    ...(spec.labels ?? {}),
    ...(spec.zone ? { [ZONE_LABEL]: spec.zone } : {}),
    ...(spec.idc ? { 'tessera.dev/idc': spec.idc } : {}),
    [`node-role.kubernetes.io/${spec.role ?? 'worker'}`]: '',
  };
}

/** Spec taints plus the taints Kubernetes itself manages (not-ready, unreachable, ...). */
export function desiredTaints(node: V1Node, pass: MachinePass): V1Taint[] | undefined {
  const wanted = (pass.machine.spec.taints ?? []).map((taint) => ({ key: taint.key, ...(taint.value ? { value: taint.value } : {}), effect: taint.effect }));
  const current = node.spec?.taints ?? [];
  const missing = wanted.filter((taint) => !current.some((have) => have.key === taint.key && have.effect === taint.effect && (have.value ?? '') === (taint.value ?? '')));
  if (missing.length === 0) return undefined;
  return [...current.filter((have) => !wanted.some((taint) => taint.key === have.key && taint.effect === have.effect)), ...wanted];
}

export function nodeReadiness(node: V1Node | undefined): { ready: boolean; since?: Date; message: string } {
  const condition = node?.status?.conditions?.find((entry) => entry.type === 'Ready');
  if (!condition) return { ready: false, message: 'the Node has no Ready condition yet' };
  return { ready: condition.status === 'True', since: condition.lastTransitionTime ? new Date(condition.lastTransitionTime) : undefined, message: condition.message ?? condition.reason ?? '' };
}

export async function observeNode(pass: MachinePass, options: MachineReconcilerOptions): Promise<void> {
  const { guest, node } = pass;
  void options;
  if (!guest || !pass.status.nodeName) return;
  if (!node) {
    setCondition(pass, { type: MachineCondition.NodeReady, status: 'False', reason: MachineReason.NoNode, message: `Node ${pass.status.nodeName} is not in the guest` });
    return;
  }
  const labels = desiredNodeLabels(pass);
  const have = node.metadata?.labels ?? {};
  const labelPatch = Object.fromEntries(Object.entries(labels).filter(([key, value]) => have[key] !== value));
  const key = `${pass.namespace}/${pass.machine.metadata.name}`;
  const annotationMissing = node.metadata?.annotations?.[MACHINE_ANNOTATION] !== key;
  const taints = desiredTaints(node, pass);
  if (Object.keys(labelPatch).length > 0 || annotationMissing || taints) {
    await guest.patchNode(pass.status.nodeName, { ...(Object.keys(labelPatch).length > 0 ? { labels: labelPatch } : {}), ...(annotationMissing ? { annotations: { [MACHINE_ANNOTATION]: key } } : {}), ...(taints && !semanticEqual(taints, node.spec?.taints ?? []) ? { taints } : {}) });
  }
  const readiness = nodeReadiness(node);
  setCondition(pass, readiness.ready ? { type: MachineCondition.NodeReady, status: 'True', reason: MachineReason.KubeletReady, message: readiness.message } : { type: MachineCondition.NodeReady, status: 'False', reason: MachineReason.NodeNotReady, message: readiness.message });
}
