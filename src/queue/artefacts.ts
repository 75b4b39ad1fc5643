/**
 * The artefact store: source-model weights and cached backbone features kept in the queue's own
 * Redis, beside the jobs.
 *
 * Why Redis and not a shared disk or an object store: every worker and the submitter already
 * reach it (nothing else to set up or secure), it persists with the append-only file, and the
 * models this toolkit trains on a CPU are small (0.1-45 MB; Redis takes values up to 512 MB).
 * Transfer results (training history and per-sample predictions) are small JSON and travel as
 * the jobs' return values. Keys: `bull:bias-transfer:artefact:source:<cache key>` (raw
 * safetensors bytes) and `…:artefact:features:<features key>` (a features job's
 * features.safetensors, one per feature set: 4 bytes per image and feature, e.g. 2 MB for 1,000
 * images of 512 features); written once per key, read by every job that needs them on another
 * machine.
 */
import type { Redis } from 'ioredis';
import { KEY_PREFIX, QUEUE_NAME } from './names.js';

/** Redis key of a source model's weights. */
export function sourceArtefactKey(key: string): string {
  return `${KEY_PREFIX}:${QUEUE_NAME}:artefact:source:${key}`;
}

/** Stores a source model's weights (safetensors bytes); idempotent (same key, same bytes). */
export async function putSourceWeights(redis: Redis, key: string, bytes: Buffer): Promise<void> {
  await redis.set(sourceArtefactKey(key), bytes);
}

/** A source model's weights, or throws naming the key when no worker has stored them. */
export async function getSourceWeights(redis: Redis, key: string): Promise<Buffer> {
  const b = await redis.getBuffer(sourceArtefactKey(key));
  if (b === null)
    throw new Error(`source model ${key}: no weights in the artefact store (${sourceArtefactKey(key)}); its source job has not finished`);
  return b;
}

/** Redis key of one cached feature set (a features job's). */
export function featuresArtefactKey(key: string): string {
  return `${KEY_PREFIX}:${QUEUE_NAME}:artefact:features:${key}`;
}

/** Stores one feature set (features.safetensors bytes) under its cache key; idempotent. */
export async function putFeatures(redis: Redis, key: string, bytes: Buffer): Promise<void> {
  await redis.set(featuresArtefactKey(key), bytes);
}

/** One feature set's bytes, or throws naming the key when no features job has stored them. */
export async function getFeatures(redis: Redis, key: string): Promise<Buffer> {
  const b = await redis.getBuffer(featuresArtefactKey(key));
  if (b === null)
    throw new Error(`features ${key}: not in the artefact store (${featuresArtefactKey(key)}); its features job has not finished`);
  return b;
}
