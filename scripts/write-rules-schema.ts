import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rulesJsonSchema } from '../lambda/mapping/rules-json-schema.js';

// `npm run rules:schema`: regenerates config/rules.schema.json (a test fails when it is stale).
const out = fileURLToPath(new URL('../config/rules.schema.json', import.meta.url));
writeFileSync(out, `${JSON.stringify(rulesJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${out}\n`);
