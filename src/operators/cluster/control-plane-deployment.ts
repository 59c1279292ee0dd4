// The guest's control plane in the meta cluster: one Deployment whose pods run kube-apiserver,
// kube-controller-manager and kube-scheduler side by side (3 or 1 replicas spread across zones;
// the controller-manager and scheduler elect one leader in the guest), as Kamaji runs a tenant.
// One Deployment instead of three: each costs the meta cluster a ReplicaSet, pods, bindings,
// status writes and Events, and a cell of 200 new guests converged twice as fast without two of
// them (bench/operator-scale.ts). The API server is a sidecar (an init container that keeps
// running): the kubelet starts the controller-manager and scheduler only once its startup probe
// passes, so they do not take CPU from its start and find an API to talk to. Each container
// mounts only its own files: no CA private key reaches the API server's.
import type { V1Deployment, V1PodSpec } from '@kubernetes/client-node';
import { apiServerContainer } from './apiserver-container.ts';
import { controllerManagerContainer } from './controller-manager-container.ts';
import { schedulerContainer } from './scheduler-container.ts';
import { componentSelector, controlPlaneDeploymentName } from './names.ts';
import { controlPlanePlacement, ownedObjectMeta, podMetadata, replicasFor, spreadConstraints, type RenderContext } from './render-context.ts';

/**
 * Replicas by mode, one pod per zone and node where possible, and a rolling update that starts
 * one new pod and stops an old one only once it is ready (maxSurge 1, maxUnavailable 0), as
 * Gardener rolls kube-apiserver: every API server keeps serving through a change, and only one
 * new one at a time warms its caches from etcd, which on a busy cell is what starves the others.
 */
export function renderControlPlaneDeployment(context: RenderContext): V1Deployment {
  const clusterName = context.cluster.metadata.name;
  const apiServer = apiServerContainer(context);
  const others = [controllerManagerContainer(context), schedulerContainer(context)];
  const podSpec: V1PodSpec = {
    initContainers: [{ ...apiServer.container, restartPolicy: 'Always' }],
    containers: others.map((part) => part.container),
    volumes: [apiServer, ...others].flatMap((part) => part.volumes),
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    enableServiceLinks: false,
    automountServiceAccountToken: false,
    ...controlPlanePlacement(context),
    topologySpreadConstraints: spreadConstraints(context, 'control-plane', true),
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: ownedObjectMeta(context, controlPlaneDeploymentName(clusterName), 'control-plane'),
    spec: {
      replicas: replicasFor(context.spec.mode),
      selector: { matchLabels: componentSelector(clusterName, 'control-plane') },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      revisionHistoryLimit: 3,
      template: { metadata: podMetadata(context, 'control-plane'), spec: podSpec },
    },
  };
}
