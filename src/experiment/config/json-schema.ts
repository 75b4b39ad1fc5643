/**
 * JSON Schema of experiment configs, generated from the zod schema (descriptions included), for
 * editor completion and validation of YAML/JSON experiment files.
 */
import { z } from 'zod';
import { ExperimentConfigSchema } from './schema.js';

/**
 * The JSON Schema (draft 2020-12) of what a config file may contain: fields with defaults are
 * optional, every object forbids unknown keys. Cross-field rules (distinct seeds, 'idx' needs
 * imagesFile, ...) are checked only by loadConfig.
 */
export function exportJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ExperimentConfigSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://bias-transfer.local/experiments/schema.json', title: 'bias-transfer experiment' };
}
