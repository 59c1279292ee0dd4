// The fleet at a glance (`tessera fleet`): one row per guest and one per cell, computed from two
// lists, so 10,000 guests cost two requests and a sort.
import type { Cell } from '../../api/v1alpha1/cell.ts';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';

export type GuestRow = {
  namespace: string;
  name: string;
  cell: string;
  region: string;
  version: string;
  mode: string;
  tier: string;
  loadScore: number | null;
  ready: string;
  phase: string;
  certificatesExpire: string | null;
};

export type CellRow = {
  name: string;
  region: string;
  state: string;
  reachable: string;
  guests: number;
  freePercent: number | null;
  capacity: Record<string, string>;
  requested: Record<string, string>;
};

export type FleetView = { guests: GuestRow[]; cells: CellRow[] };

export function fleetView(clusters: readonly Cluster[], cells: readonly Cell[]): FleetView {
  const regionOf = new Map(cells.map((cell) => [cell.metadata.name, cell.spec.region]));
  const guests = clusters.map((cluster): GuestRow => {
    const cell = cluster.status?.cell ?? (cluster.spec.placement ? '<unplaced>' : '<here>');
    return {
      namespace: cluster.metadata.namespace ?? 'default',
      name: cluster.metadata.name,
      cell,
      region: cluster.spec.placement?.region ?? regionOf.get(cell) ?? '',
      version: cluster.status?.versions?.apiServer ?? cluster.spec.version,
      mode: cluster.spec.mode ?? 'Standard',
      tier: cluster.spec.tier ?? cluster.status?.tier ?? '',
      loadScore: cluster.status?.load?.score ?? null,
      ready: cluster.status?.conditions?.find((condition) => condition.type === 'Ready')?.status ?? 'Unknown',
      phase: cluster.status?.phase ?? (cluster.status?.conditions?.find((condition) => condition.type === 'Placed')?.status === 'False' ? 'Unplaced' : ''),
      certificatesExpire: cluster.status?.certificates?.notAfter ?? null,
    };
  });
  guests.sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1));
  const rows = cells
    .map((cell): CellRow => ({
      name: cell.metadata.name,
      region: cell.spec.region,
      state: cell.spec.state ?? 'Open',
      reachable: cell.status?.conditions?.find((condition) => condition.type === 'Reachable')?.status ?? 'Unknown',
      guests: cell.status?.guests ?? 0,
      freePercent: cell.status?.freePercent ?? null,
      capacity: { ...cell.status?.capacity },
      requested: { ...cell.status?.requested },
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return { guests, cells: rows };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function fleetViewText(view: FleetView): string {
  const guests = table(
    ['NAMESPACE', 'NAME', 'CELL', 'REGION', 'VERSION', 'MODE', 'TIER', 'LOAD', 'READY', 'PHASE', 'CERTS EXPIRE'],
    view.guests.map((g) => [g.namespace, g.name, g.cell, g.region, g.version, g.mode, g.tier, g.loadScore === null ? '' : String(g.loadScore), g.ready, g.phase, g.certificatesExpire?.slice(0, 10) ?? '']),
  );
  const cells = table(
    ['CELL', 'REGION', 'STATE', 'REACHABLE', 'GUESTS', 'FREE%', 'CPU REQ/CAP', 'MEMORY REQ/CAP', 'PODS REQ/CAP'],
    view.cells.map((c) => [c.name, c.region, c.state, c.reachable, String(c.guests), c.freePercent === null ? '' : String(c.freePercent), `${c.requested['cpu'] ?? '0'}/${c.capacity['cpu'] ?? '?'}`, `${c.requested['memory'] ?? '0'}/${c.capacity['memory'] ?? '?'}`, `${c.requested['pods'] ?? '0'}/${c.capacity['pods'] ?? '?'}`]),
  );
  return `${cells}\n\n${guests}\n\n${view.guests.length} guest(s) in ${view.cells.length} cell(s)\n`;
}
