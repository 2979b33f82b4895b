// Entry of the bundle built by test/lib/lambda-bundle.test.ts: expression.ts as the Lambda bundles see it.
import { compileExpression, jsonataLoadedYet, usePrecompiledExpressions, type PrecompiledExpressions } from '../../lambda/mapping/expression.js';

declare const __TEST_EXPRESSIONS__: PrecompiledExpressions;
usePrecompiledExpressions(__TEST_EXPRESSIONS__);

export { compileExpression, jsonataLoadedYet };
