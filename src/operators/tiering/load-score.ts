// The load score: what the guest's own API server says on /metrics, weighted by the TierPolicy's
// factors. Node count alone is a proxy (HyperShift's own words); objects, watches, request rate
// and etcd size are what actually load an API server and its etcd.
import type { LoadInputs } from '../../api/v1alpha1/cluster-fleet-fields.ts';
import type { LoadFactors, TierPolicySpec } from '../../api/v1alpha1/tier-policy.ts';

export type Sample = { name: string; labels: Record<string, string>; value: number };

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The metric name a sample line starts with: up to its labels or its value. */
function metricName(line: string): string {
  for (let index = 0; index < line.length; index++) {
    const code = line.charCodeAt(index);
    if (code === 123 /* { */ || code === 32 /* space */ || code === 9 /* tab */) return line.slice(0, index);
  }
  return line;
}

/** Samples of the Prometheus text format (comments skipped; timestamps ignored). */
export function parsePrometheusText(text: string, wanted?: ReadonlySet<string>): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    // An API server's /metrics runs to megabytes, of which a few lines are wanted: the name is
    // checked before the line is parsed, which is most of the parse's cost.
    if (wanted && !wanted.has(metricName(line))) continue;
    const match = sampleLine.exec(line);
    if (!match) continue;
    const name = match[1] ?? '';
    if (wanted && !wanted.has(name)) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[3] ?? '').matchAll(labelPair)) labels[key ?? ''] = (value ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = Number(match[4]);
    if (Number.isFinite(value)) samples.push({ name, labels, value });
  }
  return samples;
}

// Kubernetes 1.34 renamed apiserver_storage_objects to apiserver_resource_objects; both are read.
export const scrapedMetrics = new Set(['apiserver_storage_objects', 'apiserver_resource_objects', 'apiserver_longrunning_requests', 'apiserver_request_total', 'apiserver_storage_size_bytes', 'apiserver_storage_db_total_size_in_bytes']);

/** A counter reading kept between scrapes to turn apiserver_request_total into a rate. */
export type RequestCounter = { total: number; at: number };

/**
 * Load inputs from one scrape. `previous` is the request counter of the last scrape (a restarted
 * API server resets its counter: then the rate is not known yet and is reported as 0).
 */
export function loadInputsFromSamples(samples: Sample[], now: number, previous?: RequestCounter): { inputs: LoadInputs; counter: RequestCounter } {
  let objects = 0;
  let nodes = 0;
  let pods = 0;
  let watchers = 0;
  let requests = 0;
  let databaseBytes = 0;
  for (const sample of samples) {
    switch (sample.name) {
      case 'apiserver_storage_objects':
      case 'apiserver_resource_objects':
        objects += sample.value;
        if (sample.labels['resource'] === 'nodes') nodes += sample.value;
        if (sample.labels['resource'] === 'pods') pods += sample.value;
        break;
      case 'apiserver_longrunning_requests':
        watchers += sample.value;
        break;
      case 'apiserver_request_total':
        requests += sample.value;
        break;
      // One etcd behind the API server: every storage cluster reports the same database, so take the largest.
      case 'apiserver_storage_size_bytes':
      case 'apiserver_storage_db_total_size_in_bytes':
        databaseBytes = Math.max(databaseBytes, sample.value);
        break;
    }
  }
  const elapsedSeconds = previous ? (now - previous.at) / 1000 : 0;
  const requestsPerSecond = previous && elapsedSeconds > 0 && requests >= previous.total ? (requests - previous.total) / elapsedSeconds : 0;
  return {
    inputs: { objects, nodes, pods, watchers, requestsPerSecond: Math.round(requestsPerSecond * 100) / 100, etcdDatabaseBytes: databaseBytes },
    counter: { total: requests, at: now },
  };
}

export function loadScore(inputs: LoadInputs, factors: LoadFactors): number {
  const score =
    (inputs.objects ?? 0) * factors.objects +
    (inputs.nodes ?? 0) * factors.nodes +
    (inputs.pods ?? 0) * factors.pods +
    (inputs.watchers ?? 0) * factors.watchers +
    (inputs.requestsPerSecond ?? 0) * factors.requestsPerSecond +
    ((inputs.etcdDatabaseBytes ?? 0) / 2 ** 20) * factors.etcdDatabaseMegabytes;
  return Math.round(score * 10) / 10;
}

/** The smallest tier whose range holds the score. */
export function recommendedTier(score: number, policy: TierPolicySpec): string {
  const tier = policy.tiers.find((candidate) => candidate.maxScore === undefined || score <= candidate.maxScore) ?? policy.tiers[policy.tiers.length - 1];
  return tier?.name ?? policy.defaultTier;
}
