// Writes the JSON Schema of every event's data to libs/api/schemas/<event type>.json from the
// built zod schemas (run `nx run api:schemas`, which builds first). A test checks the
// committed files are fresh.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { libDir } from './buf-workspace.mjs';
import { formatJson } from './format-json.mjs';

const { eventJsonSchema, eventTypes } = await import(join(libDir, 'dist/index.js'));
const schemasDir = join(libDir, 'schemas');
mkdirSync(schemasDir, { recursive: true });
for (const type of Object.values(eventTypes)) {
  const path = join(schemasDir, `${type}.json`);
  writeFileSync(path, await formatJson(eventJsonSchema(type), path));
  console.log(`wrote ${path}`);
}
