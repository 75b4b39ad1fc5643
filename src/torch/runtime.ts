/** Process-wide engine settings: seeds, threads, determinism, memory and build information. */
import { availableParallelism } from 'node:os';
import { native } from './native.js';

/** Seeds libtorch's global generator (rand, randn, dropout, parameter initialisation). */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  native.ManualSeed(seed);
}

/** Sets the number of intra-op threads libtorch uses. Results can differ between thread counts. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`thread count must be a positive integer, got ${n}`);
  native.SetNumThreads(n);
}

/** The number of intra-op threads. */
export function getNumThreads(): number {
  return native.GetNumThreads();
}

/** The default thread count: BIAS_TRANSFER_THREADS if set, else the CPUs available. */
export function defaultThreads(): number {
  const env = process.env.BIAS_TRANSFER_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`BIAS_TRANSFER_THREADS must be a positive integer, got '${env}'`);
    return n;
  }
  return availableParallelism();
}

/** Makes libtorch use deterministic algorithms where they exist (and throw where they do not). */
export function setDeterministic(on: boolean): void {
  native.SetDeterministic(on);
}

export function isDeterministic(): boolean {
  return native.GetDeterministic();
}

/** Number of native tensors currently alive (disposed ones excluded; leak checks in tests). */
export function liveTensors(): number {
  return native.LiveTensors();
}

/** Returns freed heap memory to the operating system (glibc malloc_trim). */
export function mallocTrim(): boolean {
  return native.MallocTrim();
}

/** Versions and capabilities of the linked libtorch. */
export function buildInfo(): {
  torchVersion: string;
  config: string;
  parallelInfo: string;
  mkldnn: boolean;
  cuda: boolean;
  openmp: boolean;
} {
  return native.BuildInfo();
}

/** Whether the linked libtorch can use CUDA devices. */
export function cudaAvailable(): boolean {
  return native.BuildInfo().cuda;
}
