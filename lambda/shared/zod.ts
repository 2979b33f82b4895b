// zod/mini keeps the Lambda bundle small (about 15 KB against 97 KB for classic zod, see
// ../shared/TOOLCHAIN.md); English messages are loaded once here so errors stay readable.
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

export { z };
export type ZodError = z.core.$ZodError;
export function isZodError(error: unknown): error is ZodError {
  return error instanceof z.core.$ZodError;
}
