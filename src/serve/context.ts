/** What every route plugin of the web app is given. */
import type { ResultsReader } from '../store/reader.js';

/** Shared state of one running app. */
export interface ServeContext {
  /** The results index, read-only. */
  readonly reader: ResultsReader;
  /** Real path of the results root: the only folder files are read from. */
  readonly rootReal: string;
  /** Whether bull-board is mounted at /queue. */
  readonly queue: boolean;
  /** Milliseconds between two looks at a followed run's progress log and status. */
  readonly pollMs: number;
  /** Open server-sent event streams: each entry ends its stream (called when the app closes). */
  readonly streams: Set<() => void>;
}

/** The JSON Schema of a run id in a URL (the store's safe id: no '/', no '..'). */
export const RUN_ID_SCHEMA = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._=,+-]*$', maxLength: 200 } as const;

/** Params schema of routes with a run id. */
export const RUN_PARAMS = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: RUN_ID_SCHEMA },
} as const;
