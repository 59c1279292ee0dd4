// Conditions in the standard metav1.Condition shape, and a Cluster API style summary: `Ready`
// derived from the other conditions, naming the ones that hold it back. Pure functions over
// arrays, so status code reads as data and tests need no server.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** metav1.Condition. */
export type Condition = {
  type: string;
  status: ConditionStatus;
  /** CamelCase, machine-readable (the API server requires ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$ for built-in types). */
  reason: string;
  message: string;
  /** RFC 3339 at second precision, as metav1.Time serialises; changes only when `status` changes. */
  lastTransitionTime: string;
  /** The metadata.generation this condition was computed from. */
  observedGeneration?: number;
};

/** What a controller decides; time and generation are filled in by setCondition. */
export type ConditionUpdate = { type: string; status: ConditionStatus; reason: string; message?: string };

/** metav1.Time's wire form: RFC 3339 with whole seconds (the server drops fractions, so keeping them would make every comparison differ). */
export function formatConditionTime(time: Date | number): string {
  return new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * Returns a new list with `next` set: the lastTransitionTime is kept while the status stays the
 * same and set to `now` when it changes; reason, message and observedGeneration always follow
 * `next`. Order is kept; a new type is appended. The input is not modified.
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: ConditionUpdate, generation: number | undefined, now: Date | number): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const condition: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message ?? '',
    lastTransitionTime: previous && previous.status === next.status ? previous.lastTransitionTime : formatConditionTime(now),
  };
  if (generation !== undefined) condition.observedGeneration = generation;
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((condition) => condition.type !== type);
}

export type SummaryOptions = {
  /** The summary's type; default "Ready". */
  type?: string;
  /** When given, a condition computed for an older generation counts as Unknown (it describes a spec that is gone). */
  generation?: number;
  /** Condition types that mean trouble when True (e.g. "Degraded"); they hold the summary back while True. */
  negativePolarity?: readonly string[];
};

/**
 * Derives the summary condition from `types`, in priority order. All good: True, reason "Ready".
 * Any bad (False, or True for a negative-polarity type): False. Otherwise any missing, stale or
 * Unknown: Unknown. The reason is that of the first failing condition; the message names every
 * failing condition as "Type: message" joined with "; ".
 */
export function summarizeReady(conditions: readonly Condition[] | undefined, types: readonly string[], options: SummaryOptions = {}): ConditionUpdate {
  const summaryType = options.type ?? 'Ready';
  const negative = new Set(options.negativePolarity ?? []);
  const bad: string[] = [];
  const unknown: string[] = [];
  let badReason: string | undefined;
  let unknownReason: string | undefined;
  for (const type of types) {
    const condition = findCondition(conditions, type);
    const stale = condition?.observedGeneration !== undefined && options.generation !== undefined && condition.observedGeneration < options.generation;
    if (!condition || stale || condition.status === 'Unknown') {
      const why = !condition ? 'not reported yet' : stale ? `not yet observed for generation ${options.generation}` : condition.message || condition.reason;
      unknown.push(`${type}: ${why}`);
      unknownReason ??= !condition ? `${type}NotReported` : stale ? `${type}Stale` : condition.reason;
      continue;
    }
    const good = negative.has(type) ? condition.status === 'False' : condition.status === 'True';
    if (!good) {
      bad.push(`${type}: ${condition.message || condition.reason}`);
      badReason ??= condition.reason;
    }
  }
  if (bad.length > 0) return { type: summaryType, status: 'False', reason: badReason ?? 'NotReady', message: [...bad, ...unknown].join('; ') };
  if (unknown.length > 0) return { type: summaryType, status: 'Unknown', reason: unknownReason ?? 'Unknown', message: unknown.join('; ') };
  return { type: summaryType, status: 'True', reason: summaryType, message: '' };
}
