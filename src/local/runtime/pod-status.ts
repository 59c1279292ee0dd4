// The pod status the runtime reports: a pure function of what it knows about each container,
// shaped like the kubelet's (phase, conditions, container statuses, restart counts, IPs).
import type { V1Container, V1Pod, V1PodStatus, V1ContainerStatus, V1PodCondition } from '@kubernetes/client-node';

export type ContainerView = {
  name: string;
  image: string;
  restartCount: number;
  state:
    | { kind: 'waiting'; reason: string; message?: string }
    | { kind: 'running'; startedAt: string; containerID: string }
    | { kind: 'terminated'; exitCode: number; reason: string; startedAt: string; finishedAt: string; containerID: string };
  lastTerminated?: { exitCode: number; reason: string; startedAt: string; finishedAt: string; containerID: string };
  ready: boolean;
  started: boolean;
};

function containerStatus(view: ContainerView): V1ContainerStatus {
  const state = view.state;
  const status: V1ContainerStatus = {
    name: view.name,
    image: view.image,
    imageID: view.image,
    ready: view.ready,
    started: view.started,
    restartCount: view.restartCount,
    state:
      state.kind === 'waiting'
        ? { waiting: { reason: state.reason, message: state.message } }
        : state.kind === 'running'
          ? { running: { startedAt: state.startedAt as unknown as Date } }
          : { terminated: { exitCode: state.exitCode, reason: state.reason, startedAt: state.startedAt as unknown as Date, finishedAt: state.finishedAt as unknown as Date, containerID: state.containerID } },
    lastState: view.lastTerminated
      ? { terminated: { ...view.lastTerminated, startedAt: view.lastTerminated.startedAt as unknown as Date, finishedAt: view.lastTerminated.finishedAt as unknown as Date } }
      : {},
  };
  if (state.kind !== 'waiting') status.containerID = state.containerID;
  return status;
}

export type PodView = {
  pod: V1Pod;
  podIP: string | undefined;
  hostIP: string;
  startTime: string;
  sandboxReady: boolean;
  initContainers: ContainerView[];
  containers: ContainerView[];
  /** Set when the pod can never run (e.g. restartPolicy Never and a container failed). */
  failed: boolean;
};

function phaseOf(view: PodView): string {
  const policy = view.pod.spec?.restartPolicy ?? 'Always';
  const all = view.containers;
  const terminated = all.filter((c) => c.state.kind === 'terminated');
  if (view.failed) return 'Failed';
  if (all.length > 0 && terminated.length === all.length && policy !== 'Always') {
    const anyFailed = terminated.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0);
    if (policy === 'Never') return anyFailed ? 'Failed' : 'Succeeded';
    if (!anyFailed) return 'Succeeded';
  }
  const started = all.some((c) => c.state.kind === 'running' || c.state.kind === 'terminated' || c.restartCount > 0);
  return started ? 'Running' : 'Pending';
}

function condition(type: string, ok: boolean, previous: V1PodCondition[] | undefined, now: string, reason?: string): V1PodCondition {
  const status = ok ? 'True' : 'False';
  const before = previous?.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === status ? (before.lastTransitionTime as unknown as string) : now;
  const result: V1PodCondition = { type, status, lastTransitionTime: lastTransitionTime as unknown as Date, lastProbeTime: null as unknown as Date };
  if (!ok && reason) result.reason = reason;
  return result;
}

/** An init container with restartPolicy Always: a sidecar, started before the containers and running beside them. */
export function isSidecar(container: V1Container): boolean {
  return container.restartPolicy === 'Always';
}

export function computePodStatus(view: PodView, now: string): V1PodStatus {
  const previous = view.pod.status?.conditions;
  // A sidecar (an init container with restartPolicy Always) counts as initialised once started,
  // and its readiness counts toward the pod's, as the kubelet has it.
  const sidecars = new Set((view.pod.spec?.initContainers ?? []).filter(isSidecar).map((c) => c.name));
  const initialized = view.initContainers.every((c) => (sidecars.has(c.name) ? c.started || c.restartCount > 0 : c.state.kind === 'terminated' && c.state.exitCode === 0));
  const containersReady = view.containers.length > 0 && [...view.containers, ...view.initContainers.filter((c) => sidecars.has(c.name))].every((c) => c.ready);
  const phase = phaseOf(view);
  const conditions: V1PodCondition[] = [
    condition('PodReadyToStartContainers', view.sandboxReady, previous, now),
    condition('Initialized', initialized, previous, now, 'ContainersNotInitialized'),
    condition('Ready', containersReady && phase === 'Running', previous, now, 'ContainersNotReady'),
    condition('ContainersReady', containersReady, previous, now, 'ContainersNotReady'),
  ];
  const scheduled = previous?.find((c) => c.type === 'PodScheduled');
  if (scheduled) conditions.push(scheduled);
  const status: V1PodStatus = {
    phase,
    conditions,
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    startTime: view.startTime as unknown as Date,
    containerStatuses: view.containers.map(containerStatus),
    qosClass: view.pod.status?.qosClass,
  };
  if (view.initContainers.length) status.initContainerStatuses = view.initContainers.map(containerStatus);
  if (view.podIP) {
    status.podIP = view.podIP;
    status.podIPs = [{ ip: view.podIP }];
  }
  return status;
}
