// zod/mini keeps the Lambda bundle small (about 15 KB against 97 KB for classic zod, see
// ../shared/TOOLCHAIN.md); English messages are loaded once here so errors stay readable.
// Import as `import * as z from '../shared/zod.js'`: re-exporting a namespace object
// (`export { z }`) would defeat tree shaking and pull all of zod and its 64 locales in (~430 KB).
import { config } from 'zod/mini';
import { en } from 'zod/locales';
import { $ZodError } from 'zod/v4/core';

config(en());

export * from 'zod/mini';
export type ZodError = $ZodError;
/**
 * Zod's error class, by name. Reaching it as `z.core.$ZodError` keeps the whole `core` namespace
 * (every locale, the JSON Schema processors: about 370 KB of the Lambda bundle, measured).
 */
export { $ZodError };
export function isZodError(error: unknown): error is ZodError {
  return error instanceof $ZodError;
}

/**
 * A value (typically a group of schemas) built on first use. Building zod schemas costs real time
 * at module load (the Datadog ones ~7 ms), which a Lambda pays on every cold start even when a
 * request never needs them.
 */
export function lazily<T>(make: () => T): () => T {
  let value: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value as T;
  };
}
