// The ClusterIPs of a guest's Services, picked by the operator rather than left to the API
// server. Since Kubernetes 1.33 an API server allocates a free address under one lock held
// across the write of its IPAddress object, so every ClusterIP Service created in a cell waits
// for the ones before it: a cell creating guests side by side spent most of a new guest's first
// pass in that queue (bench/operator-scale.ts). An address asked for is allocated without that
// lock. The pick is a hash of the Service's namespace, name and attempt, so a pass repeated after
// a crash asks for the same one; an address already taken moves on to the next attempt.
import { createHash } from 'node:crypto';
import type { Logger } from '../../controller/logger.ts';
import { ApiError, type RestClient } from '../../controller/rest-client.ts';
import { formatAddress, parseCidr } from '../../plan/cidr.ts';

/**
 * The address asked for on the `attempt`-th try: anywhere in `serviceCIDR` but its network
 * address, its first host (the meta cluster's own `kubernetes` Service) and its last address.
 * Undefined when the range is not a CIDR or too small to pick from: the API server allocates then.
 */
export function serviceAddressCandidate(serviceCIDR: string, serviceKey: string, attempt: number): string | undefined {
  const parsed = parseCidr(serviceCIDR);
  if (!parsed.ok) return undefined;
  const { cidr } = parsed;
  const usable = cidr.last - cidr.first - 2n;
  if (usable < 16n) return undefined;
  const digest = createHash('sha256').update(`${serviceKey}#${attempt}`).digest();
  return formatAddress(cidr.family, cidr.first + 2n + (digest.readBigUInt64BE(0) % usable));
}

/** The API server's answer to an address another Service holds. */
export function isAddressTaken(error: unknown): boolean {
  return error instanceof ApiError && error.status === 422 && error.message.includes('provided IP is already allocated');
}

/** The default ServiceCIDR, which the API server makes from its --service-cluster-ip-range. */
const DEFAULT_SERVICE_CIDR_PATH = '/apis/networking.k8s.io/v1/servicecidrs/kubernetes';
const SERVICE_RANGE_REFRESH_MS = 5 * 60_000;

/**
 * Reads the meta cluster's primary Service range, kept for five minutes. Where it cannot be read
 * (an API server before 1.33, no permission) the answer is undefined and the API server keeps
 * picking addresses; the reason is logged once per refresh.
 */
export function serviceRangeReader(client: Pick<RestClient, 'get'>, logger: Logger, now: () => number = Date.now): () => Promise<string | undefined> {
  let kept: { range: string | undefined; until: number } | undefined;
  let reading: Promise<string | undefined> | undefined;
  return async () => {
    if (kept && now() < kept.until) return kept.range;
    reading ??= (async () => {
      let range: string | undefined;
      try {
        range = (await client.get<{ spec?: { cidrs?: string[] } }>(DEFAULT_SERVICE_CIDR_PATH)).spec?.cidrs?.[0];
      } catch (error) {
        logger.warn('cannot read the meta cluster\'s Service range: the API server picks guest ClusterIPs, one at a time', { error: (error as Error).message });
      }
      kept = { range, until: now() + SERVICE_RANGE_REFRESH_MS };
      reading = undefined;
      return range;
    })();
    return reading;
  };
}
