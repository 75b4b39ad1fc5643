/**
 * Autograd mode scopes. Each runs a synchronous function with gradient recording switched off
 * (`noGrad`), on (`enableGrad`), or in libtorch's inference mode (`inferenceMode`: no autograd
 * bookkeeping at all; tensors created inside cannot later be used in autograd).
 */
import { native } from './native.js';

function rejectPromise(r: unknown, what: string): void {
  if (r instanceof Promise) throw new TypeError(`${what}: the function returned a Promise; the mode is synchronous`);
}

/** Runs `fn` without recording operations for autograd (torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.SetGradEnabled(false);
  try {
    const r = fn();
    rejectPromise(r, 'noGrad');
    return r;
  } finally {
    native.SetGradEnabled(prev);
  }
}

/** Runs `fn` with gradient recording on, even inside `noGrad` (torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.SetGradEnabled(true);
  try {
    const r = fn();
    rejectPromise(r, 'enableGrad');
    return r;
  } finally {
    native.SetGradEnabled(prev);
  }
}

/** Runs `fn` in inference mode (torch.inference_mode): fastest evaluation path. */
export function inferenceMode<T>(fn: () => T): T {
  native.InferenceEnter();
  try {
    const r = fn();
    rejectPromise(r, 'inferenceMode');
    return r;
  } finally {
    native.InferenceExit();
  }
}

/** Whether operations are currently recorded for autograd. */
export function isGradEnabled(): boolean {
  return native.IsGradEnabled();
}
