/**
 * Plan once, execute anywhere: `plan` (a config → its runs and a DAG of job specs, every id and
 * inputs hash computed once), `Executor` (who does the jobs: `inProcessExecutor` here, the queue's
 * in src/queue), `executeJob`'s halves (what any executor calls with a spec), and `runExperiment`
 * (plan → execute → rows → store).
 */
export * from './spec.js';
export * from './plan.js';
export * from './data.js';
export * from './execute.js';
export * from './executor.js';
export * from './run-record.js';
export * from './run.js';
