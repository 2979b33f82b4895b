import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rulesJsonSchema } from '../lambda/mapping/rules-json-schema.js';

// `npm run rules:schema`: regenerates config/rules.schema.json (a test fails when it is stale).
const USAGE = `usage: npm run rules:schema

Regenerates config/rules.schema.json (the JSON Schema editors check rules files with) from the rules
schema in lambda/mapping/rules-schema.ts. Takes no arguments.`;
const args = process.argv.slice(2);
if (args.length > 0) {
  const help = args.every((a) => a === '--help' || a === '-h');
  (help ? process.stdout : process.stderr).write(`${USAGE}\n`);
  process.exit(help ? 0 : 2);
}
const out = fileURLToPath(new URL('../config/rules.schema.json', import.meta.url));
writeFileSync(out, `${JSON.stringify(rulesJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${out}\n`);
