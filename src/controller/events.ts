// Kubernetes Events for every decision a component makes. Repeats of the same (object, reason,
// message) within ten minutes bump the count of one Event instead of creating new ones, the way
// client-go's event correlator keeps Event volume down.
import { randomBytes } from 'node:crypto';
import type { RestClient } from './rest-client.ts';

export type EventTarget = { apiVersion?: string; kind: string; name: string; namespace?: string; uid?: string; fieldPath?: string };

type Recorded = { name: string; namespace: string; count: number; last: number };

export class EventRecorder {
  private readonly client: RestClient;
  private readonly component: string;
  private readonly host: string | undefined;
  private readonly recent = new Map<string, Recorded>();
  readonly onError: (error: unknown) => void;

  constructor(client: RestClient, component: string, host?: string, onError: (error: unknown) => void = () => {}) {
    this.client = client;
    this.component = component;
    this.host = host;
    this.onError = onError;
  }

  normal(target: EventTarget, reason: string, message: string): void {
    this.emit(target, 'Normal', reason, message);
  }

  warning(target: EventTarget, reason: string, message: string): void {
    this.emit(target, 'Warning', reason, message);
  }

  /** Fire-and-forget: an Event that cannot be written must never stop a reconcile. */
  emit(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.record(target, type, reason, message).catch(this.onError);
  }

  async record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const namespace = target.namespace ?? 'default';
    const key = `${target.uid ?? target.name}|${target.fieldPath ?? ''}|${type}|${reason}|${message}`;
    const now = new Date();
    const previous = this.recent.get(key);
    if (previous && now.getTime() - previous.last < 600_000) {
      previous.count++;
      previous.last = now.getTime();
      await this.client.patch(`/api/v1/namespaces/${previous.namespace}/events/${previous.name}`, { count: previous.count, lastTimestamp: now.toISOString() }, 'merge');
      return;
    }
    if (this.recent.size > 4096) this.recent.clear();
    const name = `${target.name}.${randomBytes(8).toString('hex')}`;
    this.recent.set(key, { name, namespace, count: 1, last: now.getTime() });
    await this.client.create(`/api/v1/namespaces/${namespace}/events`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: { apiVersion: target.apiVersion, kind: target.kind, name: target.name, namespace: target.namespace, uid: target.uid, fieldPath: target.fieldPath },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now.toISOString(),
      lastTimestamp: now.toISOString(),
      source: { component: this.component, host: this.host },
      reportingComponent: this.component,
      reportingInstance: this.host ?? this.component,
    });
  }
}
