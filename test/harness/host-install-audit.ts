// A record, kept on a local host itself, of every package install that completed there: a small
// loop on the host notes each change of the Node operator's install records
// (/var/lib/tessera/packages/NAME.json, rewritten at the end of each install script), of the
// unpacked directories (/opt/tessera/NAME/VERSION, counted once its .installed marker says the
// archive was unpacked and verified) and of the uploaded archives. A package installed once shows
// one identity of its record and of its directory for the whole run. A directory is known by its
// inode: every unpack makes a new one (staged beside the old, then moved into place). Not by the
// marker's mtime: `touch` creates the file and then sets its time, and a host preempted between
// the two shows two mtimes a clock tick apart for one unpack (seen once in a loaded CI run).
// Sampled every 0.25 s: two installs of one package within one sample would look like one.
import { runOnHost } from '../../src/local/hosts/host-ssh.ts';
import type { HostRecord } from '../../src/local/hosts/host-layout.ts';

/** On the host's own disk (/var/log is the host's; /tmp and /root show the box). */
const AUDIT_LOG = '/var/log/tessera-install-audit.log';

const AUDIT_LOOP = [
  'prev=""',
  'while :; do',
  // inode and mtime (ns): a replaced directory has a new inode, a rewritten record a new mtime.
  "  now=$( { for m in /opt/tessera/*/*/.installed; do case $m in */current/.installed) ;; *) [ -e \"$m\" ] && stat -c '%n %i 0' \"${m%/.installed}\";; esac; done; stat -c '%n %i %.9Y' /var/lib/tessera/packages/*.json /var/lib/tessera/uploads/*.tar.gz; } 2>/dev/null | sort)",
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
  /** "name/version" -> the distinct inodes its unpacked directory had (once marked complete), in the order seen. */
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
    const directory = /^\/opt\/tessera\/([^/]+)\/([^/]+)$/.exec(path);
    if (directory?.[1] && directory[2]) note(history.unpacked, `${directory[1]}/${directory[2]}`, inode);
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
