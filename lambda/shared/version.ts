import { readFileSync } from 'node:fs';
import * as z from './zod.js';

// The bridge's version (package.json `version`): inlined into the Lambda bundles at build
// (lib/lambda-bundle.ts defines __CASE_BRIDGE_VERSION__); read from package.json when run from source
// (`npm start`, the tests).
declare const __CASE_BRIDGE_VERSION__: string | undefined;

let cached: string | undefined;

/** The package.json version of this bridge, e.g. `0.1.0`. */
export function bridgeVersion(): string {
  if (typeof __CASE_BRIDGE_VERSION__ === 'string') return __CASE_BRIDGE_VERSION__;
  // Built here, not at load: a bundle never gets this far.
  cached ??= z.looseObject({ version: z.string().check(z.minLength(1)) }).parse(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))).version;
  return cached;
}
