/**
 * Writes experiments/schema.json from the zod config schema.
 * Run: `npx tsx scripts/export-schema.ts` (add `--check` to fail when the committed file is stale).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJsonSchema } from '../src/experiment/config/json-schema.js';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'experiments', 'schema.json');
const text = `${JSON.stringify(exportJsonSchema(), null, 2)}\n`;
if (process.argv.includes('--check')) {
  const current = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  if (current !== text) {
    console.error(`${out} is out of date: run npx tsx scripts/export-schema.ts`);
    process.exit(1);
  }
  console.log(`${out} is up to date`);
} else {
  fs.writeFileSync(out, text);
  console.log(`wrote ${out} (${text.length} bytes)`);
}
