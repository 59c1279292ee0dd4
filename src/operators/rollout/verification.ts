// What verifies an upgraded Machine. The built-in checks are read from what the Node operator
// and the guest report (pure): the host's package record (PackageInstalled), the Node operator's
// own health check of the host since the change (PackageHealthy: its Remediating condition, which
// covers the runtime and kubelet services and the kubelet's /healthz), and the guest Node
// (NodeReady, and for the kubelet the version the Node reports). Declared checks are HTTP probes
// or Prometheus queries, run by the operator with a 5 s timeout; never a script.
import type { NodeRollout, VerificationCheck } from '../../api/v1alpha1/package-rollout.ts';
import { BuiltInCheck } from './status.ts';

export type CheckResult = { check: string; ok: boolean; message: string };

type ConditionView = { status: string; reason: string; message: string; observedGeneration?: number };

/** A Machine as the rollout reads it from the meta cluster (the Node operator's view of its host). */
export type MachineObservation = {
  name: string;
  zone: string;
  labels: Record<string, string>;
  nodeName?: string;
  generation: number;
  observedGeneration?: number;
  /** spec.packages' version for the rolled package, if any. */
  override?: string;
  /** status.packages' version for the rolled package: what the host records. */
  hostVersion?: string;
  ready: boolean;
  readyMessage: string;
  packagesInstalled?: ConditionView;
  remediating?: ConditionView;
};

/** A guest Node as the rollout reads it. */
export type NodeObservation = { ready: boolean; message: string; unschedulable: boolean; kubeletVersion?: string };

/** The Node operator has looked at the host since the Machine's spec last changed. */
export function machineCaughtUp(machine: MachineObservation): boolean {
  return machine.observedGeneration !== undefined && machine.observedGeneration >= machine.generation;
}

export function builtInChecks(entry: NodeRollout, packageName: string, machine: MachineObservation | undefined, node: NodeObservation | undefined): CheckResult[] {
  const target = entry.toVersion;
  if (!machine) return [{ check: BuiltInCheck.PackageInstalled, ok: false, message: `Machine ${entry.machine} is gone` }];
  const installed: CheckResult =
    machine.override === target && machineCaughtUp(machine) && machine.hostVersion === target
      ? { check: BuiltInCheck.PackageInstalled, ok: true, message: `the host records ${packageName} ${target}` }
      : { check: BuiltInCheck.PackageInstalled, ok: false, message: `the host records ${packageName} ${machine.hostVersion ?? '(none)'}${machine.packagesInstalled?.status === 'False' ? `: ${machine.packagesInstalled.message}` : ''}` };
  const remediating = machine.remediating;
  const fresh = remediating?.observedGeneration !== undefined && remediating.observedGeneration >= machine.generation && machineCaughtUp(machine);
  const healthy: CheckResult =
    fresh && remediating?.reason === 'Healthy'
      ? { check: BuiltInCheck.PackageHealthy, ok: true, message: 'the Node operator finds the host\'s services healthy' }
      : { check: BuiltInCheck.PackageHealthy, ok: false, message: fresh && remediating ? remediating.message || remediating.reason : 'the Node operator has not checked the host since the change yet' };
  const wantKubelet = `v${target}`;
  const nodeReady: CheckResult = !node
    ? { check: BuiltInCheck.NodeReady, ok: false, message: `Node ${entry.node ?? entry.machine} is not in the guest` }
    : !node.ready
      ? { check: BuiltInCheck.NodeReady, ok: false, message: `Node ${entry.node ?? entry.machine} is not Ready: ${node.message}` }
      : packageName === 'kubelet' && node.kubeletVersion !== wantKubelet
        ? { check: BuiltInCheck.NodeReady, ok: false, message: `Node ${entry.node ?? entry.machine} reports kubelet ${node.kubeletVersion ?? '(none)'}, not ${wantKubelet}` }
        : { check: BuiltInCheck.NodeReady, ok: true, message: `Node ${entry.node ?? entry.machine} is Ready` };
  return [installed, healthy, nodeReady];
}

/** The first failing check, or undefined when all pass. */
export function firstFailure(results: readonly CheckResult[]): CheckResult | undefined {
  return results.find((result) => !result.ok);
}

export type HttpGet = (url: string, timeoutMs: number) => Promise<{ status: number; body: string }>;

export const fetchGet: HttpGet = async (url, timeoutMs) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  return { status: response.status, body: await response.text() };
};

const CHECK_TIMEOUT_MS = 5_000;

/** Runs one declared check for one Node ("{node}" in a URL or query becomes its name). */
export async function runDeclaredCheck(check: VerificationCheck, nodeName: string, get: HttpGet): Promise<CheckResult> {
  const fill = (text: string) => text.replaceAll('{node}', nodeName);
  try {
    if (check.http) {
      const url = fill(check.http.url);
      const expected = check.http.expectStatus ?? 200;
      const response = await get(url, CHECK_TIMEOUT_MS);
      if (response.status !== expected) return { check: check.name, ok: false, message: `GET ${url} answered ${response.status}, expected ${expected}` };
      if (check.http.bodyContains && !response.body.includes(check.http.bodyContains)) return { check: check.name, ok: false, message: `GET ${url}: the body does not contain ${JSON.stringify(check.http.bodyContains)}` };
      return { check: check.name, ok: true, message: `GET ${url} answered ${response.status}` };
    }
    if (check.prometheus) {
      const query = fill(check.prometheus.query);
      const url = `${check.prometheus.url.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`;
      const response = await get(url, CHECK_TIMEOUT_MS);
      if (response.status !== 200) return { check: check.name, ok: false, message: `query ${query}: ${check.prometheus.url} answered ${response.status}` };
      return judgeSamples(check.name, query, response.body, check.prometheus.min, check.prometheus.max);
    }
    return { check: check.name, ok: false, message: 'the check declares neither http nor prometheus' };
  } catch (error) {
    return { check: check.name, ok: false, message: `${check.http ? 'GET' : 'query'} failed: ${(error as Error).message}` };
  }
}

/** Every sample of an instant-query answer within [min, max]; no samples fails (no data is not good news). */
export function judgeSamples(name: string, query: string, body: string, min: number | undefined, max: number | undefined): CheckResult {
  let samples: number[];
  try {
    const parsed = JSON.parse(body) as { status?: string; data?: { resultType?: string; result?: unknown } };
    if (parsed.status !== 'success') return { check: name, ok: false, message: `query ${query}: status ${parsed.status ?? '(none)'}` };
    const result = parsed.data?.result;
    if (parsed.data?.resultType === 'scalar' && Array.isArray(result)) samples = [Number(result[1])];
    else if (Array.isArray(result)) samples = result.map((entry) => Number((entry as { value?: [number, string] }).value?.[1]));
    else samples = [];
  } catch (error) {
    return { check: name, ok: false, message: `query ${query}: unreadable answer (${(error as Error).message})` };
  }
  if (samples.length === 0) return { check: name, ok: false, message: `query ${query} returned no samples` };
  const bad = samples.find((value) => Number.isNaN(value) || (max !== undefined && value > max) || (min !== undefined && value < min));
  if (bad !== undefined) return { check: name, ok: false, message: `query ${query} returned ${bad}, outside [${min ?? '-inf'}, ${max ?? '+inf'}]` };
  return { check: name, ok: true, message: `query ${query}: ${samples.length} sample(s) within bounds` };
}
