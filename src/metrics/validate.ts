/** Argument checks shared by the metric functions; each error names the argument at fault. */

/** Any array of integers indexed by sample (predictions, labels, attributes). */
export type IntArray = Int32Array | Uint8Array;

/** Throws unless `numClasses` is a positive integer. */
export function checkNumClasses(numClasses: number, where: string): void {
  if (!Number.isInteger(numClasses) || numClasses <= 0) {
    throw new RangeError(`${where}: numClasses must be a positive integer, got ${numClasses}`);
  }
}

/** Throws unless every array in `arrays` has the same length; returns that length. */
export function checkSameLength(where: string, arrays: Record<string, ArrayLike<number> | undefined>): number {
  let n = -1;
  let first = '';
  for (const [name, a] of Object.entries(arrays)) {
    if (a === undefined) continue;
    if (n < 0) {
      n = a.length;
      first = name;
    } else if (a.length !== n) {
      throw new RangeError(`${where}: ${name} has length ${a.length} but ${first} has length ${n}`);
    }
  }
  return Math.max(n, 0);
}

/** Throws unless every value of `a` is an integer class index in [0, numClasses). */
export function checkClassIndices(where: string, name: string, a: ArrayLike<number>, numClasses: number): void {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (!(v >= 0 && v < numClasses) || !Number.isInteger(v)) {
      throw new RangeError(`${where}: ${name}[${i}] = ${v} is not a class index in [0, ${numClasses})`);
    }
  }
}

/** Throws unless `t` is a class index in [0, numClasses). */
export function checkClass(where: string, name: string, t: number, numClasses: number): void {
  if (!Number.isInteger(t) || t < 0 || t >= numClasses) {
    throw new RangeError(`${where}: ${name} = ${t} is not a class index in [0, ${numClasses})`);
  }
}

/** Throws unless every value of `a` is 0 or 1. */
export function checkBinary(where: string, name: string, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== 0 && a[i] !== 1) throw new RangeError(`${where}: ${name}[${i}] = ${a[i]} is not 0 or 1`);
  }
}
