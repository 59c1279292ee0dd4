// Order as data (after Gardener's pkg/utils/flow): each task names the tasks it needs; a walk
// starts every task as soon as all it depends on has finished, so independent tasks run in
// parallel, and a task whose dependencies did not come out ready does not run at all.

export type GraphTask<Name extends string = string> = {
  name: Name;
  dependsOn: readonly Name[];
  /** Why it comes where it does, for people reading the graph. */
  reason: string;
};

/**
 * The tasks in stages: every task comes one stage after the last of its dependencies; within a
 * stage, tasks keep the order in which they are listed. Throws, naming the task, on a
 * duplicate, an unknown dependency or a cycle.
 */
export function orderedStages<Name extends string>(tasks: readonly GraphTask<Name>[]): Name[][] {
  const byName = new Map<Name, GraphTask<Name>>();
  for (const task of tasks) {
    if (byName.has(task.name)) throw new Error(`task ${JSON.stringify(task.name)} is listed twice; keep one entry`);
    byName.set(task.name, task);
  }
  for (const task of tasks) {
    for (const dependency of task.dependsOn) {
      if (!byName.has(dependency)) {
        throw new Error(`task ${JSON.stringify(task.name)} depends on ${JSON.stringify(dependency)}, which is not a task; add it or remove the dependency`);
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
      throw new Error(`tasks form a cycle: ${cycle}; remove one of these dependencies`);
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

export type WalkOutcome = { ready: boolean };

export type WalkHandlers<Name extends string, Task extends GraphTask<Name>, Outcome extends WalkOutcome> = {
  /** Runs a task whose dependencies are all ready. */
  run: (task: Task) => Promise<Outcome>;
  /** The outcome of a task that does not run because `waitingFor` are not ready. */
  blocked: (task: Task, waitingFor: Name[]) => Outcome;
  /** The outcome of a task whose run threw. */
  failed: (task: Task, error: unknown) => Outcome;
};

/**
 * Walks the graph: each task starts once its dependencies finished; it runs when they are all
 * ready, else it is blocked. Returns every task's outcome by name. The graph is checked first
 * (orderedStages), so a cycle can never hang the walk.
 */
export async function walkGraph<Name extends string, Task extends GraphTask<Name>, Outcome extends WalkOutcome>(
  tasks: readonly Task[],
  handlers: WalkHandlers<Name, Task, Outcome>,
): Promise<Map<Name, Outcome>> {
  orderedStages(tasks);
  const byName = new Map(tasks.map((task) => [task.name, task]));
  const started = new Map<Name, Promise<Outcome>>();
  const outcome = (name: Name): Promise<Outcome> => {
    const known = started.get(name);
    if (known) return known;
    const task = byName.get(name) as Task;
    const promise = Promise.all(task.dependsOn.map(outcome)).then(async (dependencies) => {
      const waitingFor = task.dependsOn.filter((_, index) => !dependencies[index]?.ready);
      if (waitingFor.length > 0) return handlers.blocked(task, waitingFor);
      try {
        return await handlers.run(task);
      } catch (error) {
        return handlers.failed(task, error);
      }
    });
    started.set(name, promise);
    return promise;
  };
  const results = await Promise.all(tasks.map((task) => outcome(task.name)));
  return new Map(tasks.map((task, index) => [task.name, results[index] as Outcome]));
}
