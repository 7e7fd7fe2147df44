export interface ReconcileError {
  /** The kernel object concerned, e.g. "link weft-vx42" or "fdb 02:..:01 dev weft-vx42 dst 10.0.0.2". */
  object: string;
  endpointId?: string;
  message: string;
}

export interface ReconcileReport {
  linksCreated: number;
  linksDeleted: number;
  fdbAdded: number;
  fdbRemoved: number;
  neighboursAdded: number;
  neighboursRemoved: number;
  errors: ReconcileError[];
  durationMs: number;
}
