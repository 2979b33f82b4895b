import * as z from '../shared/zod.js';
import { rulesSchemas } from './rules-schema.js';

/** JSON Schema of the rules file, for editors (`# yaml-language-server: $schema=./rules.schema.json`). */
export function rulesJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(rulesSchemas().RulesFileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://github.com/case-bridge/case-bridge/config/rules.schema.json', title: 'case-bridge rules file' };
}
