// The API server's own request metrics (its /metrics), for benchmarks that say what an API
// server was asked: writes by resource and verb, and where its time went.
import type { RestClient } from '../src/controller/rest-client.ts';

export const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION']);

type Sample = { labels: Record<string, string>; value: number };

/** The samples of the metric `name` (its labelled lines) in a Prometheus text page. */
function samples(text: string, name: string): Sample[] {
  const found: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const labels = Object.fromEntries([...line.slice(name.length + 1, close).matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1] ?? '', match[2] ?? '']));
    found.push({ labels, value: Number(line.slice(close + 1).trim()) });
  }
  return found;
}

/** "resource[/subresource] VERB" of a request sample. */
const requestKey = (labels: Record<string, string>) => `${labels['resource']}${labels['subresource'] ? `/${labels['subresource']}` : ''} ${labels['verb']}`;

/** Writes the API server served so far (apiserver_request_total, summed over codes), by "resource[/subresource] VERB". */
export async function writeCounters(client: RestClient): Promise<Map<string, number>> {
  const counters = new Map<string, number>();
  for (const { labels, value } of samples(await client.get<string>('/metrics'), 'apiserver_request_total')) {
    if (!WRITE_VERBS.has(labels['verb'] ?? '')) continue;
    const key = requestKey(labels);
    counters.set(key, (counters.get(key) ?? 0) + value);
  }
  return counters;
}

/** Requests served so far, watches aside, with the seconds spent on them (apiserver_request_duration_seconds), by "VERB resource[/subresource]". */
export async function requestTimes(client: RestClient): Promise<Map<string, { count: number; seconds: number }>> {
  const text = await client.get<string>('/metrics');
  const requests = new Map<string, { count: number; seconds: number }>();
  const add = (suffix: 'count' | 'sum') => {
    for (const { labels, value } of samples(text, `apiserver_request_duration_seconds_${suffix}`)) {
      if (labels['verb'] === 'WATCH') continue;
      const key = `${labels['verb']} ${labels['resource']}${labels['subresource'] ? `/${labels['subresource']}` : ''}`;
      const entry = requests.get(key) ?? { count: 0, seconds: 0 };
      if (suffix === 'count') entry.count += value;
      else entry.seconds += value;
      requests.set(key, entry);
    }
  };
  add('count');
  add('sum');
  return requests;
}
