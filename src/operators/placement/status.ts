// Conditions the fleet controllers set, and the field managers they write under. One manager
// per concern, none shared with the Cluster operator (`tessera-cluster-operator-status`), so
// server-side apply never makes two writers fight over a field.

export const FieldManager = {
  /** status.cell and the Placed condition of global Clusters; the copies in remote cells. */
  placement: 'tessera-placement-controller',
  /** Status copied back from a remote cell's copy, and the admin kubeconfig Secret. */
  cellSync: 'tessera-cell-sync',
  /** Cell status. */
  cell: 'tessera-cell-controller',
  /** The applied-profile annotation on Clusters; ClusterProfile status. */
  profile: 'tessera-profile-controller',
  /** status.tier, status.load and the Tiered condition. */
  tiering: 'tessera-tiering-controller',
} as const;

export const PlacementCondition = {
  /** On a global Cluster: which cell and why, or why none fits. */
  Placed: 'Placed',
} as const;

export const PlacementReason = {
  Placed: 'Placed',
  Pinned: 'Pinned',
  CellDraining: 'CellDraining',
  NoCellInRegion: 'NoCellInRegion',
  NoFittingCell: 'NoFittingCell',
  PinnedCellUnfit: 'PinnedCellUnfit',
  PinnedCellMissing: 'PinnedCellMissing',
  ProfileNotApplied: 'ProfileNotApplied',
  CellUnreachable: 'CellUnreachable',
} as const;

export const CellCondition = { Reachable: 'Reachable', Schedulable: 'Schedulable' } as const;
export const CellReason = {
  APIAnswers: 'APIAnswers',
  KubeconfigMissing: 'KubeconfigMissing',
  Unreachable: 'Unreachable',
  Open: 'Open',
  Cordoned: 'Cordoned',
  Draining: 'Draining',
  Full: 'Full',
} as const;

export const ProfileCondition = { Valid: 'Valid' } as const;
export const ProfileReason = { TemplateValid: 'TemplateValid', TemplateInvalid: 'TemplateInvalid' } as const;

/** Labels and annotations the fleet puts on objects. */
export const FleetLabel = {
  /** On a copy in a cell: the uid of the global Cluster it was copied from. */
  globalUid: 'tessera.dev/global-cluster-uid',
  /** On a Secret copied back into the global cluster. */
  copiedFromCell: 'tessera.dev/copied-from-cell',
} as const;
export const FleetAnnotation = {
  /** On a copy in a cell: the global Cluster's generation whose spec it carries. */
  globalGeneration: 'tessera.dev/global-generation',
  /** On a Secret copied back: the source Secret's resourceVersion. */
  sourceResourceVersion: 'tessera.dev/source-resource-version',
} as const;

export const PLACEMENT_FINALIZER = 'tessera.dev/placement';
