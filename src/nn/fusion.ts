/**
 * The switch for src/nn's fast paths (default on): the fused native kernels (training BatchNorm
 * [+ shortcut] [+ ReLU] [+ max-pool], evaluation ReLU + max-pool) and the channels-last strides
 * of one-channel convolutions. Off runs the plain libtorch ops everywhere, with the same results
 * up to float rounding: for before/after comparisons (`npm run bench:product -- --no-fused`) and
 * tests.
 */
export const fastPaths = { enabled: true };
