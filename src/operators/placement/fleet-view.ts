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

/** What a guest row is made of: read from a Cluster object, or from a row of its server-side Table. */
export type GuestFields = {
  namespace: string;
  name: string;
  cell?: string;
  placementRegion?: string;
  placed?: string;
  running?: string;
  version: string;
  mode?: string;
  tier?: string;
  pinnedTier?: string;
  loadScore?: number;
  ready?: string;
  phase?: string;
  certificatesExpire?: string;
};

export function guestFieldsOf(cluster: Cluster): GuestFields {
  const condition = (type: string) => cluster.status?.conditions?.find((entry) => entry.type === type)?.status;
  return {
    namespace: cluster.metadata.namespace ?? 'default',
    name: cluster.metadata.name,
    cell: cluster.status?.cell,
    placementRegion: cluster.spec.placement?.region,
    placed: condition('Placed'),
    running: cluster.status?.versions?.apiServer,
    version: cluster.spec.version,
    mode: cluster.spec.mode,
    tier: cluster.status?.tier,
    pinnedTier: cluster.spec.tier,
    loadScore: cluster.status?.load?.score,
    ready: condition('Ready'),
    phase: cluster.status?.phase,
    certificatesExpire: cluster.status?.certificates?.notAfter,
  };
}

/** A server-side Table of Clusters (every printer column, src/api/v1alpha1/cluster.ts). */
export type ClusterTable = { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };

/** The same fields from a Table row, by column name; a missing column reads as empty. */
export function guestFieldsFromTable(table: ClusterTable): GuestFields[] {
  const index = new Map(table.columnDefinitions.map((column, position) => [column.name, position]));
  const text = (row: { cells: unknown[] }, column: string): string | undefined => {
    const value = row.cells[index.get(column) ?? -1];
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  return table.rows.map((row) => {
    const load = text(row, 'Load');
    return {
      namespace: text(row, 'Namespace') ?? 'default',
      name: text(row, 'Name') ?? '',
      cell: text(row, 'Cell'),
      placementRegion: text(row, 'Region'),
      placed: text(row, 'Placed'),
      running: text(row, 'Running'),
      version: text(row, 'Version') ?? '',
      mode: text(row, 'Mode'),
      tier: text(row, 'Tier'),
      pinnedTier: text(row, 'Pinned'),
      loadScore: load === undefined ? undefined : Number(load),
      ready: text(row, 'Ready'),
      phase: text(row, 'Phase'),
      certificatesExpire: text(row, 'Certificates'),
    };
  });
}

export function fleetView(clusters: readonly Cluster[], cells: readonly Cell[]): FleetView {
  return fleetViewOf(clusters.map(guestFieldsOf), cells);
}

/** The view from guest fields (objects or Table rows) and the Cells. */
export function fleetViewOf(fields: readonly GuestFields[], cells: readonly Cell[]): FleetView {
  const regionOf = new Map(cells.map((cell) => [cell.metadata.name, cell.spec.region]));
  const guests = fields.map((guest): GuestRow => {
    const cell = guest.cell ?? (guest.placementRegion ? '<unplaced>' : '<here>');
    return {
      namespace: guest.namespace,
      name: guest.name,
      cell,
      region: guest.placementRegion ?? regionOf.get(cell) ?? '',
      version: guest.running ?? guest.version,
      mode: guest.mode ?? 'Standard',
      tier: guest.pinnedTier ?? guest.tier ?? '',
      loadScore: guest.loadScore ?? null,
      ready: guest.ready ?? 'Unknown',
      phase: guest.phase ?? (guest.placed === 'False' ? 'Unplaced' : ''),
      certificatesExpire: guest.certificatesExpire ?? null,
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
