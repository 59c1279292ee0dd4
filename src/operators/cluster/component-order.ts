// The order in which a guest's parts are brought up, as data (Gardener's flow): each task names
// the tasks it needs, and the stages follow from the graph. Tasks in one stage do not depend on
// each other and may run in parallel; a stage starts when the one before it is done.

export type ComponentTask<Name extends string = string> = {
  name: Name;
  dependsOn: readonly Name[];
  /** Why it comes where it does, for people reading the graph. */
  reason: string;
};

export type ClusterComponentName =
  | 'services'
  | 'pki'
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'guest-bootstrap'
  | 'addons';

export const CLUSTER_COMPONENTS: readonly ComponentTask<ClusterComponentName>[] = [
  { name: 'services', dependsOn: [], reason: 'Services need nothing, and their addresses go into certificates' },
  { name: 'pki', dependsOn: ['services'], reason: "the API server's serving certificate names the ClusterIP of <c>-kube-apiserver" },
  { name: 'etcd', dependsOn: ['services', 'pki'], reason: 'members find each other through the headless Service and talk TLS' },
  { name: 'kube-apiserver', dependsOn: ['etcd'], reason: 'the API server stores everything in etcd' },
  { name: 'kube-controller-manager', dependsOn: ['kube-apiserver'], reason: 'it works through the API' },
  { name: 'kube-scheduler', dependsOn: ['kube-apiserver'], reason: 'it works through the API' },
  {
    name: 'guest-bootstrap',
    dependsOn: ['kube-controller-manager', 'kube-scheduler'],
    reason: 'RBAC, cluster-info and the bootstrap token go in once the control plane is whole',
  },
  { name: 'addons', dependsOn: ['guest-bootstrap'], reason: 'CoreDNS and kube-proxy run with the RBAC and ConfigMaps the bootstrap writes' },
];

/**
 * The tasks in stages: every task comes one stage after the last of its dependencies; within a
 * stage, tasks keep the order in which they are listed. Throws, naming the task, on a
 * duplicate, an unknown dependency or a cycle.
 */
export function orderedStages<Name extends string>(tasks: readonly ComponentTask<Name>[]): Name[][] {
  const byName = new Map<Name, ComponentTask<Name>>();
  for (const task of tasks) {
    if (byName.has(task.name)) throw new Error(`component task ${JSON.stringify(task.name)} is listed twice; keep one entry`);
    byName.set(task.name, task);
  }
  for (const task of tasks) {
    for (const dependency of task.dependsOn) {
      if (!byName.has(dependency)) {
        throw new Error(`component task ${JSON.stringify(task.name)} depends on ${JSON.stringify(dependency)}, which is not a task; add it or remove the dependency`);
      }
    }
  }
  const stageOf = new Map<Name, number>();
  const visiting: Name[] = [];
  const stage = (name: Name): number => {
    const known = stageOf.get(name);
    if (known !== undefined) return known;
    if (visiting.includes(name)) {
      const cycle = [...visiting.slice(visiting.indexOf(name)), name].join(' -> ');
      throw new Error(`component tasks form a cycle: ${cycle}; remove one of these dependencies`);
    }
    visiting.push(name);
    const dependsOn = byName.get(name)?.dependsOn ?? [];
    const result = dependsOn.length === 0 ? 0 : 1 + Math.max(...dependsOn.map(stage));
    visiting.pop();
    stageOf.set(name, result);
    return result;
  };
  const stages: Name[][] = [];
  for (const task of tasks) {
    const index = stage(task.name);
    while (stages.length <= index) stages.push([]);
    stages[index]?.push(task.name);
  }
  return stages;
}

/** The stages of bringing up a guest: [[services], [pki], [etcd], [kube-apiserver], ...]. */
export function clusterComponentStages(): ClusterComponentName[][] {
  return orderedStages(CLUSTER_COMPONENTS);
}
