// The guest's kube-scheduler: a container of each control-plane pod (one leader elected in the
// guest) that needs nothing but its kubeconfig Secret.
import type { V1Container, V1ResourceRequirements } from '@kubernetes/client-node';
import { pkiSecretNames } from './pki/certificate-set.ts';
import { KUBECONFIG_PATH } from './controller-manager-container.ts';
import {
  POD_IP,
  POD_IP_ENV,
  PROBE_TIMINGS,
  SECRET_FILE_MODE,
  commandLine,
  httpGetProbe,
  resourcesFor,
  type ContainerPart,
  type Flag,
  type RenderContext,
} from './render-context.ts';

/** The upstream default secure port; free on the pod IP the component binds to. */
export const SCHEDULER_PORT = 10259;

/** kubeadm's request for kube-scheduler, used when its resources are empty in the spec. */
export const DEFAULT_SCHEDULER_RESOURCES: V1ResourceRequirements = { requests: { cpu: '100m' } };

export function schedulerContainer(context: RenderContext): ContainerPart {
  const secrets = pkiSecretNames(context.cluster.metadata.name);
  const { spec } = context;
  const kubeconfig = `${KUBECONFIG_PATH}/scheduler.conf`;
  const flags: Flag[] = [
    ['kubeconfig', kubeconfig],
    ['authentication-kubeconfig', kubeconfig],
    ['authorization-kubeconfig', kubeconfig],
    ['bind-address', POD_IP],
    ['secure-port', String(SCHEDULER_PORT)],
    ['leader-elect', 'true'],
    ['profiling', 'false'],
  ];

  const container: V1Container = {
    name: 'kube-scheduler',
    image: context.images.scheduler,
    command: ['kube-scheduler'],
    args: commandLine(flags, spec.controlPlane.scheduler.extraArgs, 'spec.controlPlane.scheduler.extraArgs'),
    env: [POD_IP_ENV],
    ports: [{ name: 'sched-https', containerPort: SCHEDULER_PORT, protocol: 'TCP' }],
    startupProbe: httpGetProbe('/healthz', 'sched-https', 'HTTPS', PROBE_TIMINGS.startup),
    readinessProbe: httpGetProbe('/healthz', 'sched-https', 'HTTPS', PROBE_TIMINGS.readiness),
    livenessProbe: httpGetProbe('/healthz', 'sched-https', 'HTTPS', PROBE_TIMINGS.liveness),
    resources: resourcesFor(spec.controlPlane.scheduler, DEFAULT_SCHEDULER_RESOURCES),
    volumeMounts: [{ name: 'scheduler-kubeconfig', mountPath: KUBECONFIG_PATH, readOnly: true }],
  };

  const volumes = [
    {
      name: 'scheduler-kubeconfig',
      secret: { secretName: secrets.schedulerKubeconfig, items: [{ key: 'kubeconfig', path: 'scheduler.conf' }], defaultMode: SECRET_FILE_MODE },
    },
  ];
  return { container, volumes };
}
