/** Class references in configs: an index or a class name, resolved against a dataset's classes. */

/** A class by index (0-based) or by name. */
export type ClassRef = number | string;

/**
 * Resolves a class given by index or name against `classes`; `key` names the config key in errors.
 *
 * @example resolveClass(['cat', 'dog'], 'dog', 'poison.targetClass') // 1
 */
export function resolveClass(classes: readonly string[], ref: ClassRef, key: string): number {
  if (typeof ref === 'number') {
    if (!Number.isInteger(ref) || ref < 0 || ref >= classes.length) {
      throw new RangeError(`${key}: class index ${ref} is outside 0..${classes.length - 1}`);
    }
    return ref;
  }
  const i = classes.indexOf(ref);
  if (i < 0) throw new RangeError(`${key}: unknown class '${ref}' (classes: ${classes.join(', ')})`);
  return i;
}
