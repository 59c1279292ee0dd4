// A record, kept on a local host itself, of every package install that completed there: a small
// loop on the host notes each change of the Node operator's install records
// (/var/lib/tessera/packages/NAME.json, rewritten at the end of each install script), of the
// unpacked directories' markers (/opt/tessera/NAME/VERSION/.installed, made when an archive was
// unpacked and verified) and of the uploaded archives. A package installed once shows one
// identity of its record and of its marker for the whole run.
// Sampled every 0.25 s: two installs of one package within one sample would look like one.
import { runOnHost } from '../../src/local/hosts/host-ssh.ts';
import type { HostRecord } from '../../src/local/hosts/host-layout.ts';

/** On the host's own disk (/var/log is the host's; /tmp and /root show the box). */
const AUDIT_LOG = '/var/log/tessera-install-audit.log';

const AUDIT_LOOP = [
  'prev=""',
  'while :; do',
  // inode and mtime (ns): a replaced directory has a new marker, a rewritten record a new mtime.
  "  now=$(stat -c '%n %i %.9Y' /opt/tessera/*/*/.installed /var/lib/tessera/packages/*.json /var/lib/tessera/uploads/*.tar.gz 2>/dev/null | grep -v '/current/' | sort)",
  `  if [ "$now" != "$prev" ]; then printf '%s\\n' "$now" >> ${AUDIT_LOG}; prev="$now"; fi`,
  '  sleep 0.25',
  'done',
].join('\n');

/** Starts the audit loop on the host, in the background of its own PID namespace. */
export async function startInstallAudit(tesseraHome: string, host: HostRecord): Promise<void> {
  const quoted = `'${AUDIT_LOOP.replaceAll("'", "'\\''")}'`;
  // Only the loop goes to the background, with no descriptor of the SSH session (or ssh would wait for it).
  const result = await runOnHost(tesseraHome, host, `: > ${AUDIT_LOG} || exit 1; setsid nohup sh -c ${quoted} </dev/null >/dev/null 2>&1 &`, undefined, 30_000);
  if (result.code !== 0) throw new Error(`${host.name}: the install audit did not start (exit ${result.code}): ${result.stderr}`);
}

export type InstallHistory = {
  /** Package name -> the distinct mtimes its install record had, in the order seen. */
  records: Map<string, string[]>;
  /** "name/version" -> the distinct (inode, mtime) its .installed marker had, in the order seen. */
  unpacked: Map<string, string[]>;
  /** "name-version" -> the distinct (inode, mtime) of its uploaded archive: an upload cut short is redone. */
  uploads: Map<string, string[]>;
};

export function parseInstallAudit(log: string): InstallHistory {
  const history: InstallHistory = { records: new Map(), unpacked: new Map(), uploads: new Map() };
  const note = (map: Map<string, string[]>, key: string, identity: string) => {
    const seen = map.get(key) ?? [];
    if (!seen.includes(identity)) seen.push(identity);
    map.set(key, seen);
  };
  for (const line of log.split('\n')) {
    const [path, inode, mtime] = line.trim().split(' ');
    if (!path || !inode || !mtime) continue;
    const record = /^\/var\/lib\/tessera\/packages\/(.+)\.json$/.exec(path);
    if (record?.[1]) note(history.records, record[1], mtime);
    const marker = /^\/opt\/tessera\/([^/]+)\/([^/]+)\/\.installed$/.exec(path);
    if (marker?.[1] && marker[2]) note(history.unpacked, `${marker[1]}/${marker[2]}`, `${inode} ${mtime}`);
    const upload = /^\/var\/lib\/tessera\/uploads\/(.+)\.tar\.gz$/.exec(path);
    if (upload?.[1]) note(history.uploads, upload[1], `${inode} ${mtime}`);
  }
  return history;
}

export async function readInstallAudit(tesseraHome: string, host: HostRecord): Promise<InstallHistory> {
  const result = await runOnHost(tesseraHome, host, `cat ${AUDIT_LOG}`);
  if (result.code !== 0) throw new Error(`${host.name}: cannot read ${AUDIT_LOG} (exit ${result.code}): ${result.stderr}`);
  return parseInstallAudit(result.stdout);
}
