/**
 * zod schemas for the JSON-able bias specs, so config files can hold triggers and poisoning
 * policies with strict validation (unknown keys rejected at every level). Image-dependent checks
 * (size vs image, colour length vs channels, class names) happen when the spec is applied.
 */
import { z } from 'zod';
import type { PoisonSpec } from './poison.js';
import type { TriggerSpec } from './trigger.js';

const pixel = z.number().min(0).max(255);
const color = z.union([pixel, z.array(pixel).min(1)]);
const size = z.union([z.number().int().positive(), z.strictObject({ fraction: z.number().gt(0).max(1) })]);
const position = z.union([
  z.enum(['top-left', 'top-right', 'bottom-left', 'bottom-right', 'center', 'random']),
  z.strictObject({ x: z.number().int().min(0), y: z.number().int().min(0) }),
]);
const common = { size, position, opacity: z.number().min(0).max(1).optional() };

/** Schema of TriggerSpec. */
export const triggerSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('solid'), color, ...common }),
  z.strictObject({
    kind: z.literal('checkerboard'),
    colors: z.tuple([color, color]).optional(),
    cell: z.number().int().positive().optional(),
    ...common,
  }),
  z.strictObject({
    kind: z.literal('noise'),
    seed: z.number().int().min(0),
    scale: z.number().min(0),
    mean: z.number().optional(),
    ...common,
  }),
  z.strictObject({ kind: z.literal('image'), path: z.string().min(1), maskPath: z.string().min(1).optional(), ...common }),
]);

const classRef = z.union([z.number().int().min(0), z.string().min(1)]);
const classes = z.array(classRef).min(1);
const probability = z.number().min(0).max(1);
const count = z.number().int().min(0);
const amountFields = { probability: probability.optional(), count: count.optional() };
const oneAmount = (v: { probability?: number; count?: number }) => (v.probability === undefined) !== (v.count === undefined);
const oneAmountMessage = { message: 'give exactly one of probability or count' };

/** Schema of PoisonSpec. */
export const poisonSpecSchema = z.union([
  z.strictObject({ policy: z.literal('clean-label'), classes, probability }),
  z.strictObject({ policy: z.literal('clean-label-count'), classes, count }),
  z
    .strictObject({ policy: z.literal('dirty-label'), fromClasses: classes.optional(), targetClass: classRef, ...amountFields })
    .refine(oneAmount, oneAmountMessage),
  z
    .strictObject({
      policy: z.literal('trigger-class'),
      fromClasses: classes.optional(),
      newClassName: z.string().min(1).optional(),
      ...amountFields,
    })
    .refine(oneAmount, oneAmountMessage),
]);

/** Parses unknown JSON into a TriggerSpec, throwing a message with the path of each bad key. */
export function parseTriggerSpec(value: unknown, key = 'trigger'): TriggerSpec {
  const r = triggerSpecSchema.safeParse(value);
  if (!r.success) throw new TypeError(formatIssues(r.error, key));
  return r.data as TriggerSpec;
}

/** Parses unknown JSON into a PoisonSpec, throwing a message with the path of each bad key. */
export function parsePoisonSpec(value: unknown, key = 'poison'): PoisonSpec {
  const r = poisonSpecSchema.safeParse(value);
  if (!r.success) throw new TypeError(formatIssues(r.error, key));
  return r.data as PoisonSpec;
}

function formatIssues(err: z.ZodError, key: string): string {
  return err.issues.map((i) => `${[key, ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
}
