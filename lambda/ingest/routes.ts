import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { CompiledRules } from '../mapping/compile-rules.js';
import { bridgeVersion } from '../shared/version.js';
import { reply, type Answer } from './answer.js';

/** The routes of the bridge's API (lib/ingest-api.ts); any other request reaches the function as `$default`. */
export const ROUTES = { webhook: 'POST /webhooks/{source}', health: 'GET /health' } as const;

/**
 * `GET /health`: the version and the configured sources. Reads no secret and calls nothing, so it
 * answers while Secrets Manager, DynamoDB or Datadog are down: it says the function runs with these rules.
 */
export function healthAnswer(rules: CompiledRules): Answer {
  return reply(200, { status: 'ok', version: bridgeVersion(), sources: [...rules.sources.keys()] });
}

/** Any request that is no route of the bridge: 404 in the documented `{error, message}` shape. */
export function notFoundAnswer(event: APIGatewayProxyEventV2): Answer {
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = (event.rawPath ?? '/').slice(0, 200);
  return reply(404, { error: 'not_found', message: `no route ${method} ${path}: the bridge serves ${ROUTES.webhook} and ${ROUTES.health}` });
}
