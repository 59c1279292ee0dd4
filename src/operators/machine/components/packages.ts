// PackagesInstalled: bring the host's packages to the Cluster's defaults with the Machine's
// overrides. Only what differs from the host's own records is uploaded (checksum verified on the
// host before unpacking), then containerd is configured and missing images imported. Each step
// is idempotent, so an operator killed at any line resumes from what the host reports.
import { mustRun } from '../host-access.ts';
import { probeHost } from './connection.ts';
import { containerdStep } from '../../../node/join-steps.ts';
import { renderImageImportScript, renderInstallScript, uploadPath } from '../../../node/host-install.ts';
import type { PackageDefinition } from '../../../node/catalogue.ts';
import { packagesToInstall, planPackages } from '../package-plan.ts';
import { setCondition, type MachinePass, type MachineReconcilerOptions } from '../machine-pass.ts';
import { MachineCondition, MachineReason } from '../status.ts';
import { ensurePackageVersion } from '../cluster-package-version.ts';

export const INSTALL_TIMEOUT_SECONDS = 300;
const RUNTIME_PACKAGES = new Set(['runc', 'cni-plugins', 'containerd']);

/** The packages this Machine should have, or undefined (with the condition set) when refused. */
export async function wantedPackages(pass: MachinePass, options: MachineReconcilerOptions): Promise<PackageDefinition[] | undefined> {
  const cluster = pass.cluster;
  if (!cluster) return undefined;
  const defaults = await ensurePackageVersion(options.meta, cluster, pass.now);
  const apiServerVersion = cluster.status?.versions?.apiServer ?? cluster.spec.version;
  const plan = planPackages(defaults.spec.packages, pass.machine.spec.packages ?? [], apiServerVersion, `ClusterPackageVersion ${defaults.metadata.name} spec.packages`);
  if (!plan.ok) {
    setCondition(pass, { type: MachineCondition.PackagesInstalled, status: 'False', reason: MachineReason.Refused, message: plan.message });
    options.events.warning(pass.machine, 'PackagesRefused', plan.message);
    pass.stop = true;
    return undefined;
  }
  return plan.packages;
}

export async function installPackages(pass: MachinePass, options: MachineReconcilerOptions): Promise<void> {
  const { host, probe } = pass;
  if (!host || !probe) return;
  if (!pass.cluster) {
    setCondition(pass, { type: MachineCondition.PackagesInstalled, status: 'False', reason: MachineReason.WaitingForGuest, message: `Cluster ${pass.namespace}/${pass.machine.spec.clusterName} does not exist (spec.clusterName)` });
    pass.stop = true;
    pass.requeueAfterMs = 30_000;
    return;
  }
  const wanted = await wantedPackages(pass, options);
  if (!wanted) return;
  const missing = packagesToInstall(wanted, probe.packages);
  try {
    for (const definition of missing) {
      const artifact = await options.artifacts(definition);
      const what = `${definition.name} ${definition.version}`;
      pass.status.lastOperation = { type: 'Install', description: `install ${what}`, state: 'Succeeded', time: pass.now.toISOString() };
      await host.upload(artifact.archive, uploadPath(artifact.manifest), INSTALL_TIMEOUT_SECONDS);
      await mustRun(host, `install ${what}`, renderInstallScript(artifact.manifest, artifact.sha256), INSTALL_TIMEOUT_SECONDS);
      options.events.normal(pass.machine, 'PackageInstalled', `${what} installed (archive sha256 ${artifact.sha256.slice(0, 12)}..., verified on the host)`);
    }
    const runtimeChanged = missing.some((definition) => RUNTIME_PACKAGES.has(definition.name));
    const sandbox = wanted.find((definition) => definition.name === 'pause');
    const sandboxImage = sandbox?.activation.kind === 'containerd-images' ? sandbox.activation.images[0]?.reference : undefined;
    if (sandboxImage && (runtimeChanged || probe.services.containerd !== 'run' || !probe.criServing)) {
      // A running containerd whose CRI plugin failed to load starts it again on restart.
      if (probe.services.containerd === 'run' && !probe.criServing && !runtimeChanged) await mustRun(host, 'restart containerd', 'sv restart /etc/service/containerd >/dev/null', 60);
      const step = containerdStep(sandboxImage);
      await mustRun(host, step.name, step.script, 120);
    }
    const present = new Set((await reprobe(pass)).images);
    for (const definition of wanted) {
      if (definition.activation.kind !== 'containerd-images') continue;
      if (definition.activation.images.every((image) => present.has(image.reference))) continue;
      const artifact = await options.artifacts(definition);
      await mustRun(host, `import ${definition.name} ${definition.version} images`, renderImageImportScript(artifact.manifest), INSTALL_TIMEOUT_SECONDS);
    }
    // A new kubelet version takes effect when its service restarts (the `current` link moved).
    if (missing.some((definition) => definition.name === 'kubelet') && probe.services.kubelet === 'run') await mustRun(host, 'restart the kubelet', 'sv restart /etc/service/kubelet', 60);
  } catch (error) {
    const message = (error as Error).message;
    pass.status.lastOperation = { ...(pass.status.lastOperation ?? { type: 'Install', description: 'install packages' }), state: 'Failed', time: pass.now.toISOString(), error: message.slice(0, 1000) };
    setCondition(pass, { type: MachineCondition.PackagesInstalled, status: 'False', reason: MachineReason.InstallFailed, message });
    options.events.warning(pass.machine, 'InstallFailed', message);
    pass.stop = true;
    await probeHost(pass).catch(() => undefined);
    throw error;
  }
  if (missing.length > 0) await probeHost(pass);
  const wrong = packagesToInstall(wanted, pass.probe?.packages ?? []);
  if (wrong.length > 0) {
    setCondition(pass, { type: MachineCondition.PackagesInstalled, status: 'False', reason: MachineReason.Installing, message: `the host does not report ${wrong.map((entry) => `${entry.name} ${entry.version}`).join(', ')} yet` });
    pass.stop = true;
    return;
  }
  setCondition(pass, { type: MachineCondition.PackagesInstalled, status: 'True', reason: MachineReason.AtDeclaredVersions, message: wanted.map((entry) => `${entry.name} ${entry.version}`).join(', ') });
}

async function reprobe(pass: MachinePass): Promise<{ images: string[] }> {
  await probeHost(pass);
  return { images: pass.probe?.images ?? [] };
}
