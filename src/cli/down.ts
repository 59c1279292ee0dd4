// `tessera down`: stop the supervisor, then anything it left behind (after a crash, the records
// under $TESSERA_HOME/run and the pods' records still name every process).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveHome } from '../local/home.ts';
import { stopAllHosts } from '../local/hosts/local-hosts.ts';
import { isRecordAlive, readRecord, terminateGroup, terminateRecorded } from '../local/process/process-record.ts';

export async function run(_args: string[]): Promise<number> {
  const home = resolveHome();
  // Hosts first: their kubelets would only lose the API they report to.
  const hosts = await stopAllHosts(home.root);
  if (hosts.length > 0) process.stdout.write(`powered off hosts ${hosts.join(', ')} (disks kept)\n`);
  const supervisor = await readRecord(home.supervisorPid);
  if (supervisor && isRecordAlive(supervisor)) {
    process.stdout.write(`stopping the supervisor (pid ${supervisor.pid})\n`);
    // The supervisor stops the runtime, pods and control plane in order on SIGTERM.
    await terminateGroup(supervisor, 60_000);
  }
  const pods = await terminateRecorded(home.pods, 10_000);
  const controlPlane = await terminateRecorded(join(home.run, 'control-plane'), 10_000);
  await rm(home.supervisorPid, { force: true });
  await rm(join(home.run, 'ready'), { force: true });
  if (pods.length || controlPlane.length) process.stdout.write(`stopped ${controlPlane.length} control-plane and ${pods.length} pod process(es) left behind\n`);
  process.stdout.write(`the meta cluster in ${home.root} is stopped; its data stays (\`tessera up\` resumes it)\n`);
  return 0;
}
