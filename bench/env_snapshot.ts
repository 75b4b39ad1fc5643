/**
 * The OpenMP wait policy the user gave, read before src/torch/native.ts sets its default
 * (PASSIVE). bench/engine.ts imports this first so the PyTorch child it spawns runs with
 * PyTorch's own default rather than inheriting ours.
 */
export const userOmpWaitPolicy: string | undefined = process.env.OMP_WAIT_POLICY;
