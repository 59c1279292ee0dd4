// Flags of the control-plane components that Tessera owns: extraArgs may tune a component, but
// not take over how it authenticates, authorizes, finds its certificates and etcd, or how it is
// wired into the guest (ports the probes and Services use, ranges spec.network fixes). The list
// is derived from what the renderers (src/operators/cluster/*-container.ts, etcd-member.ts) set
// and what the platform relies on beyond them. It is enforced twice from this one file: by the
// API server (the CEL rules below, in the CRD) and by the operator (protectedFlagViolations).
import type { ClusterSpec, ValidationRule } from './cluster.ts';

export type ControlPlaneComponentName = 'apiServer' | 'controllerManager' | 'scheduler' | 'etcd';
export const CONTROL_PLANE_COMPONENT_NAMES: readonly ControlPlaneComponentName[] = ['apiServer', 'controllerManager', 'scheduler', 'etcd'];

/** Protected flags that share one reason. A name ending in `*` protects every flag starting with the rest. */
type FlagGroup = { readonly why: string; readonly flags: readonly string[] };

// Each reason finishes the sentence "<field> is set by Tessera: ...".
const authentication = 'authentication and authorization are the platform\'s (the rendered probes and Services reach it anonymously, nodes join with bootstrap tokens, users hold certificates from the cluster CA)';
const certificates = 'Tessera issues, mounts and renews the certificates and keys at these paths';
const wiring = 'the Services, probes and other components reach the process at the address and port Tessera renders';
const network = 'it follows spec.network, whose ranges are fixed at creation and planned against other clusters; change spec.network instead';

const PROTECTED_FLAG_GROUPS: Readonly<Record<ControlPlaneComponentName, readonly FlagGroup[]>> = {
  apiServer: [
    {
      why: authentication,
      flags: ['authorization-*', 'authentication-*', 'anonymous-auth', 'token-auth-file', 'enable-bootstrap-token-auth', 'client-ca-file', 'requestheader-*'],
    },
    {
      why: certificates,
      flags: ['tls-cert-file', 'tls-private-key-file', 'tls-sni-cert-key', 'kubelet-client-*', 'kubelet-certificate-authority', 'proxy-client-*', 'service-account-key-file', 'service-account-signing-key-file', 'service-account-signing-endpoint'],
    },
    {
      why: 'service-account tokens must name and be checked against the issuer Tessera configures (a token of a deleted account must stop working)',
      flags: ['service-account-issuer', 'service-account-lookup'],
    },
    {
      why: 'the API server keeps its data in the guest\'s own etcd members, reached with the certificates Tessera issues',
      flags: ['etcd-servers', 'etcd-servers-overrides', 'etcd-cafile', 'etcd-certfile', 'etcd-keyfile', 'etcd-prefix'],
    },
    {
      // A value replaces the rendered list rather than adding to it; see ADMISSION_PLUGINS_REQUIRED
      // for what enable-/disable-admission-plugins may say.
      why: 'it replaces the whole admission plugin list; use enable-admission-plugins including NodeRestriction instead',
      flags: ['admission-control'],
    },
    {
      why: 'kube-proxy and the network plugins run as privileged pods in the guest',
      flags: ['allow-privileged'],
    },
    { why: wiring, flags: ['advertise-address', 'bind-address', 'secure-port', 'endpoint-reconciler-type'] },
    { why: network, flags: ['service-cluster-ip-range'] },
  ],
  controllerManager: [
    {
      why: authentication,
      flags: ['kubeconfig', 'authentication-*', 'authorization-*', 'client-ca-file', 'requestheader-*', 'use-service-account-credentials'],
    },
    {
      why: certificates,
      flags: ['tls-cert-file', 'tls-private-key-file', 'root-ca-file', 'service-account-private-key-file', 'cluster-signing-*'],
    },
    {
      why: 'machines join with bootstrap tokens, served by the bootstrapsigner and tokencleaner controllers Tessera enables',
      flags: ['controllers'],
    },
    { why: 'Standard guests run three replicas of which only the elected leader may act', flags: ['leader-elect'] },
    { why: wiring, flags: ['bind-address', 'secure-port'] },
    { why: network, flags: ['allocate-node-cidrs', 'cluster-cidr', 'node-cidr-mask-size', 'service-cluster-ip-range'] },
  ],
  scheduler: [
    {
      // --config would override every flag below it, kubeconfig and leader election included.
      why: authentication,
      flags: ['kubeconfig', 'authentication-*', 'authorization-*', 'client-ca-file', 'requestheader-*', 'config'],
    },
    { why: certificates, flags: ['tls-cert-file', 'tls-private-key-file'] },
    { why: 'Standard guests run three replicas of which only the elected leader may act', flags: ['leader-elect'] },
    { why: wiring, flags: ['bind-address', 'secure-port'] },
  ],
  etcd: [
    {
      why: 'members and their clients prove who they are with certificates from the guest\'s etcd CA, which Tessera issues and renews',
      flags: ['cert-file', 'key-file', 'trusted-ca-file', 'client-cert-auth', 'auto-tls', 'peer-*', 'client-crl-file'],
    },
    {
      why: 'the operator adds, removes and replaces members under these names, URLs and directories without ever breaking quorum',
      flags: ['name', 'data-dir', 'wal-dir', 'initial-cluster*', 'initial-advertise-peer-urls', 'listen-*', 'advertise-client-urls', 'discovery*', 'force-new-cluster'],
    },
    {
      // A configuration file replaces every flag; unsafe-no-fsync loses acknowledged writes on a crash.
      why: 'it would override every other flag or give up durability, which the guest\'s data depends on',
      flags: ['config-file', 'unsafe-no-fsync'],
    },
  ],
};

/** Protected flag names per component; an entry ending in `*` protects every flag with that prefix. */
export const PROTECTED_FLAGS: Readonly<Record<ControlPlaneComponentName, readonly string[]>> = {
  apiServer: PROTECTED_FLAG_GROUPS.apiServer.flatMap((group) => group.flags),
  controllerManager: PROTECTED_FLAG_GROUPS.controllerManager.flatMap((group) => group.flags),
  scheduler: PROTECTED_FLAG_GROUPS.scheduler.flatMap((group) => group.flags),
  etcd: PROTECTED_FLAG_GROUPS.etcd.flatMap((group) => group.flags),
};

/**
 * Admission plugins the platform relies on: NodeRestriction confines each kubelet to its own
 * Node and pods (Tessera renders --enable-admission-plugins=NodeRestriction, and a value in
 * extraArgs replaces that list); ServiceAccount gives the addons their tokens; NamespaceLifecycle
 * keeps kube-system, where the addons live, from being deleted. The last two are on by default.
 */
export const ADMISSION_PLUGINS_REQUIRED: readonly string[] = ['NodeRestriction', 'ServiceAccount', 'NamespaceLifecycle'];
/** The one plugin among them that is off by default, so an enable list must name it. */
const ADMISSION_PLUGIN_TO_ENABLE = 'NodeRestriction';

export function isProtectedFlag(component: ControlPlaneComponentName, flag: string): boolean {
  return protectingGroup(component, stripDashes(flag)) !== undefined;
}

function protectingGroup(component: ControlPlaneComponentName, flag: string): FlagGroup | undefined {
  return PROTECTED_FLAG_GROUPS[component].find((group) => group.flags.some((entry) => (entry.endsWith('*') ? flag.startsWith(entry.slice(0, -1)) : flag === entry)));
}

// commandLine() in the operator accepts keys with leading dashes, so the operator's check does too.
function stripDashes(flag: string): string {
  return flag.replace(/^-{1,2}/, '');
}

const componentPath = (component: ControlPlaneComponentName) => `spec.controlPlane.${component}.extraArgs`;
const protectedMessage = (component: ControlPlaneComponentName, flag: string, why: string) =>
  `${componentPath(component)}.${flag} is set by Tessera: ${why}. Remove it from extraArgs`;

const pluginList = (value: string) => value.split(',').map((plugin) => plugin.trim());

/**
 * Every extraArgs entry of `spec` that overrides a flag the platform owns, or drops an admission
 * plugin it relies on, as a message naming `spec.controlPlane.<component>.extraArgs.<flag>` and
 * the fix. Empty when the spec is acceptable. Works on a defaulted spec too.
 */
export function protectedFlagViolations(spec: Pick<ClusterSpec, 'controlPlane'>): string[] {
  const violations: string[] = [];
  for (const component of CONTROL_PLANE_COMPONENT_NAMES) {
    const extraArgs = spec.controlPlane?.[component]?.extraArgs ?? {};
    for (const [key, value] of Object.entries(extraArgs)) {
      const flag = stripDashes(key);
      const group = protectingGroup(component, flag);
      if (group) {
        violations.push(protectedMessage(component, flag, group.why));
        continue;
      }
      if (component !== 'apiServer') continue;
      if (flag === 'enable-admission-plugins' && !pluginList(value).includes(ADMISSION_PLUGIN_TO_ENABLE)) {
        violations.push(enableAdmissionMessage);
      }
      if (flag === 'disable-admission-plugins') {
        const dropped = pluginList(value).filter((plugin) => ADMISSION_PLUGINS_REQUIRED.includes(plugin));
        if (dropped.length > 0) violations.push(`${disableAdmissionMessagePrefix}${dropped.join(', ')}`);
      }
    }
  }
  return violations;
}

const enableAdmissionMessage =
  `${componentPath('apiServer')}.enable-admission-plugins must include ${ADMISSION_PLUGIN_TO_ENABLE}: the value replaces the rendered list, ` +
  `and ${ADMISSION_PLUGIN_TO_ENABLE} keeps each node to its own objects; add it to the list`;
const disableAdmissionMessagePrefix =
  `${componentPath('apiServer')}.disable-admission-plugins must not disable ${ADMISSION_PLUGINS_REQUIRED.join(', ')} (the platform relies on them); remove `;

/** Control characters (Unicode Cc: C0, DEL and C1), which have no place on a command line. */
export const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * protectedFlagViolations, plus extraArgs values holding a control character (a newline, tab or
 * NUL smuggles a second argument or breaks logs and manifests). The operator's full check.
 */
export function extraArgsViolations(spec: Pick<ClusterSpec, 'controlPlane'>): string[] {
  const violations = protectedFlagViolations(spec);
  for (const component of CONTROL_PLANE_COMPONENT_NAMES) {
    for (const [key, value] of Object.entries(spec.controlPlane?.[component]?.extraArgs ?? {})) {
      if (CONTROL_CHARACTER.test(value)) violations.push(controlCharacterMessage(component, stripDashes(key)));
    }
  }
  return violations;
}

const controlCharacterMessage = (component: ControlPlaneComponentName, flag: string) =>
  `${componentPath(component)}.${flag} must not contain control characters (newline, tab, NUL and the like): write the value on one line`;

// --- CEL ----------------------------------------------------------------------------------------

const celString = (text: string) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/**
 * CEL rules for the extraArgs map of `component`: one per protected name, so the API server's
 * message names the flag and says why. A rule per name rather than one listing the offenders:
 * a message built from map keys has no length bound the API server can estimate, so it refuses
 * such a messageExpression, while a key lookup or a prefix test costs next to nothing.
 */
export function protectedFlagRules(component: ControlPlaneComponentName): ValidationRule[] {
  const rules: ValidationRule[] = PROTECTED_FLAG_GROUPS[component].flatMap((group) =>
    group.flags.map((entry): ValidationRule => {
      if (!entry.endsWith('*')) return { rule: `!(${celString(entry)} in self)`, message: protectedMessage(component, entry, group.why) };
      const prefix = entry.slice(0, -1);
      return {
        rule: `!self.exists(flag, flag.startsWith(${celString(prefix)}))`,
        message: `${componentPath(component)}.${entry}: every flag starting with ${prefix} is set by Tessera: ${group.why}. Remove it from extraArgs`,
      };
    }),
  );
  if (component === 'apiServer') {
    rules.push(
      {
        rule: `!('enable-admission-plugins' in self) || self['enable-admission-plugins'].split(',').exists(plugin, plugin.trim() == ${celString(ADMISSION_PLUGIN_TO_ENABLE)})`,
        message: enableAdmissionMessage,
      },
      {
        rule: `!('disable-admission-plugins' in self) || !self['disable-admission-plugins'].split(',').exists(plugin, plugin.trim() in [${ADMISSION_PLUGINS_REQUIRED.map(celString).join(', ')}])`,
        message: `${disableAdmissionMessagePrefix}them from the list`,
      },
    );
  }
  return rules;
}

/** The CEL rule for each extraArgs value of `component`. */
export function extraArgValueRule(component: ControlPlaneComponentName): ValidationRule {
  return {
    // RE2's \p{Cc}; the backslash is doubled for the CEL string literal.
    rule: "!self.matches('\\\\p{Cc}')",
    message: `${componentPath(component)} values must not contain control characters (newline, tab, NUL and the like): write each value on one line`,
  };
}
