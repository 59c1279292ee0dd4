// The profile reconciler: records on each Cluster naming a ClusterProfile the template it uses
// (annotation tessera.dev/applied-profile), once at creation and again only when the profile's
// updatePolicy is Rollout; reports on each profile whether its template is valid, how many
// Clusters use it and which would change (status.pendingClusters).
import { clusterProfileResource, type ClusterProfile } from '../../api/v1alpha1/cluster-profile.ts';
import { clusterResource, type Cluster } from '../../api/v1alpha1/cluster.ts';
import { setCondition } from '../../controller/conditions.ts';
import type { EventRecorder } from '../../controller/events.ts';
import { objectKey, splitObjectKey, type Informer } from '../../controller/informer.ts';
import { resourcePath, type RestClient } from '../../controller/rest-client.ts';
import { applyStatus } from '../../controller/status.ts';
import { APPLIED_PROFILE_ANNOTATION, checkProfileTemplate, decideAppliedProfile } from './profile.ts';
import { FieldManager, ProfileCondition, ProfileReason } from './status.ts';

export const profilePath = (name: string) => resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusterprofiles', name });
export const byProfileIndex = 'profile';
export const profileOf = (cluster: Cluster): string[] => (cluster.spec.profile ? [cluster.spec.profile] : []);

export class ProfileReconciler {
  private readonly client: RestClient;
  private readonly clusters: Informer<Cluster>;
  private readonly profiles: Informer<ClusterProfile>;
  private readonly events: EventRecorder;
  private readonly now: () => number;

  constructor(options: { client: RestClient; clusters: Informer<Cluster>; profiles: Informer<ClusterProfile>; events: EventRecorder; now?: () => number }) {
    this.client = options.client;
    this.clusters = options.clusters;
    this.profiles = options.profiles;
    this.events = options.events;
    this.now = options.now ?? Date.now;
  }

  /** Keys are "cluster:<namespace>/<name>" or "profile:<name>". */
  async reconcile(key: string): Promise<void> {
    if (key.startsWith('profile:')) return this.reconcileProfile(key.slice('profile:'.length));
    return this.reconcileCluster(key.slice('cluster:'.length));
  }

  private async reconcileCluster(key: string): Promise<void> {
    const cluster = this.clusters.get(key);
    if (!cluster?.spec.profile || cluster.metadata.deletionTimestamp) return;
    const profile = this.profiles.get(cluster.spec.profile);
    if (!profile || checkProfileTemplate(profile.spec.template).length) return; // the Cluster waits (Placed / the operator say so); the profile's Valid condition says why
    const decision = decideAppliedProfile(cluster, profile);
    if (!decision.write) return;
    const { namespace = 'default', name } = splitObjectKey(key);
    await this.client.apply(
      resourcePath({ group: 'tessera.dev', version: 'v1alpha1', resource: 'clusters', namespace, name }),
      { apiVersion: clusterResource.apiVersion, kind: clusterResource.kind, metadata: { name, namespace, annotations: { [APPLIED_PROFILE_ANNOTATION]: JSON.stringify(decision.applied) } } },
      FieldManager.profile,
      true,
    );
    this.events.normal(
      { apiVersion: clusterResource.apiVersion, kind: 'Cluster', name, namespace, uid: cluster.metadata.uid ?? '' },
      decision.reason,
      decision.reason === 'ProfileApplied' ? `uses ClusterProfile ${profile.metadata.name} at generation ${decision.applied.generation}` : `ClusterProfile ${profile.metadata.name} changed (generation ${decision.applied.generation}) and its updatePolicy is Rollout`,
    );
  }

  private async reconcileProfile(name: string): Promise<void> {
    const profile = this.profiles.get(name);
    if (!profile) return;
    const problems = checkProfileTemplate(profile.spec.template);
    const users = this.clusters.byIndex(byProfileIndex, name).filter((cluster) => !cluster.metadata.deletionTimestamp);
    const pending = users.filter((cluster) => {
      const decision = decideAppliedProfile(cluster, profile);
      return !decision.write && decision.pending;
    });
    const pendingKeys = pending.map(objectKey).sort();
    const conditions = setCondition(
      profile.status?.conditions,
      problems.length
        ? { type: ProfileCondition.Valid, status: 'False', reason: ProfileReason.TemplateInvalid, message: `${problems.join('; ')}: fix the template; Clusters naming this profile wait until it is valid` }
        : { type: ProfileCondition.Valid, status: 'True', reason: ProfileReason.TemplateValid, message: 'the template is a valid part of a Cluster spec' },
      profile.metadata.generation,
      this.now(),
    );
    await applyStatus(this.client, {
      path: profilePath(name),
      apiVersion: clusterProfileResource.apiVersion,
      kind: clusterProfileResource.kind,
      current: profile,
      status: { conditions, observedGeneration: profile.metadata.generation ?? 0, clusters: users.length, pendingClusters: pendingKeys.slice(0, 100), pendingCount: pendingKeys.length },
      fieldManager: FieldManager.profile,
    });
  }
}
