// zod/mini (lambda/shared/zod.ts): functional API, z.optional(x), z._default(x, v), x.check(...).
import * as z from '../shared/zod.js';
import { PayloadError } from '../shared/errors.js';
import { secretKeySchema, header, hexDigestMatches, hmacSha256, verifyWithFallback } from './crypto.js';
import { isObject, nonEmpty, objectOf, str, missingPath, payloadProblems, rfc3339Ms } from './fields.js';
import { type Json, type JsonObject, type Signal, type SourceEventOf, type SourceNote, type WebhookSource, SIGNATURE_MISMATCH } from './types.js';

const settingsSchema = z.lazily(() =>
  z.strictObject({
    /** @default "GITHUB_WEBHOOK_SECRET" */
    secret: z._default(secretKeySchema(), 'GITHUB_WEBHOOK_SECRET'),
  }),
);
type Settings = z.infer<ReturnType<typeof settingsSchema>>;

// Built on first use: only the sources a container receives webhooks from build theirs.
const bodySchema = z.lazily(() =>
  z.looseObject({
    action: z.optional(z.string()),
    repository: z.optional(z.looseObject({ id: z.number(), full_name: z.string() })),
    organization: z.optional(z.looseObject({ id: z.number(), login: z.string() })),
  }),
);

// The checks of bodySchema() by hand, without the copies zod makes of the body and of `repository`
// (about 80 keys in a full delivery) on every webhook. A body that fails them still goes through
// bodySchema(), which stays the authority and whose error becomes the cause.
const isFiniteNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

function ownerOk(v: Json | undefined, nameKey: 'full_name' | 'login'): boolean {
  if (v === undefined) return true;
  return isObject(v) && isFiniteNumber(v['id']) && typeof v[nameKey] === 'string';
}

function isGithubBody(body: JsonObject): boolean {
  const action = body['action'];
  return (action === undefined || typeof action === 'string') && ownerOk(body['repository'], 'full_name') && ownerOk(body['organization'], 'login');
}

// Objects that carry an alert-like identity, in the order they are looked for.
// ../shared/fixtures/README.md: repository id + object number/id.
const OBJECTS = [
  ['issue', 'number'],
  ['alert', 'number'],
  ['workflow_run', 'id'],
  ['workflow_job', 'id'],
  ['check_run', 'id'],
  ['check_suite', 'id'],
  ['deployment', 'id'],
  ['security_advisory', 'ghsa_id'],
] as const;

/**
 * Objects whose `updated_at` is the event's time, most specific first (a deployment_status event also
 * carries its deployment). GitHub signs no timestamp; the body's own time is signed with the body.
 */
const TIMED_OBJECTS = ['deployment_status', 'issue', 'alert', 'workflow_run', 'workflow_job', 'check_run', 'check_suite', 'security_advisory'] as const;

function updatedAt(body: JsonObject): number | undefined {
  for (const key of TIMED_OBJECTS) {
    const t = rfc3339Ms(objectOf(body, key)?.['updated_at']);
    if (t !== undefined) return t;
  }
  return undefined;
}

// What each event is about (its identity): a delivery of that event without it makes no case (400).
const ABOUT: Readonly<Record<string, readonly string[]>> = {
  issues: ['issue.number'],
  issue_comment: ['issue.number'],
  code_scanning_alert: ['alert.number'],
  dependabot_alert: ['alert.number'],
  secret_scanning_alert: ['alert.number'],
  repository_vulnerability_alert: ['alert'],
  workflow_run: ['workflow_run.id'],
  workflow_job: ['workflow_job.id'],
  check_run: ['check_run.id'],
  check_suite: ['check_suite.id'],
  deployment: ['deployment.id'],
  deployment_status: ['deployment_status', 'deployment.id'],
  security_advisory: ['security_advisory.ghsa_id'],
};

const RESOLVE_ACTIONS = new Set(['closed', 'fixed', 'closed_by_user', 'dismissed', 'auto_dismissed', 'resolved', 'withdrawn']);
const FAILED_CONCLUSIONS = new Set(['failure', 'timed_out', 'startup_failure']);

function signalOf(event: string, action: string | undefined, body: JsonObject): Signal {
  // A comment on an issue is about the issue, never its opening or closing (its text is a note: noteOf).
  if (event === 'issue_comment') return 'informational';
  if (action !== undefined && RESOLVE_ACTIONS.has(action)) return 'resolved';
  if (event === 'deployment_status') {
    const state = str(objectOf(body, 'deployment_status')?.['state']);
    if (state === 'failure' || state === 'error') return 'firing';
    return state === 'success' ? 'resolved' : 'informational';
  }
  const run = objectOf(body, 'workflow_run') ?? objectOf(body, 'workflow_job') ?? objectOf(body, 'check_run') ?? objectOf(body, 'check_suite');
  if (run !== undefined && action === 'completed') {
    const conclusion = str(run['conclusion']);
    if (conclusion !== undefined && FAILED_CONCLUSIONS.has(conclusion)) return 'firing';
    return conclusion === 'success' ? 'resolved' : 'informational';
  }
  if (action === 'opened' || action === 'created' || action === 'reopened' || action === 'reopened_by_user' || action === 'auto_reopened' || action === 'reintroduced' || action === 'published') {
    return 'firing';
  }
  return 'informational';
}

/** A new comment on an issue (issue_comment.created): a note on the issue's case, by its author, with its own link. */
function noteOf(event: string, action: string | undefined, body: JsonObject): SourceNote | undefined {
  if (event !== 'issue_comment' || action !== 'created') return undefined;
  const comment = objectOf(body, 'comment');
  const id = str(comment?.['id']);
  const text = nonEmpty(comment?.['body']);
  if (id === undefined || text === undefined) return undefined;
  return { id, text, author: nonEmpty(objectOf(comment, 'user')?.['login']), link: nonEmpty(comment?.['html_url']) };
}

export const github = {
  name: 'github',
  bodySigned: true,
  settingsSchema,

  // X-Hub-Signature-256: sha256=<hex>. The legacy SHA-1 header is ignored on purpose.
  verify(rawBody, headers, { secrets }) {
    const value = header(headers, 'x-hub-signature-256');
    if (value === undefined || !value.startsWith('sha256=')) return false;
    const candidate = value.slice('sha256='.length);
    return verifyWithFallback(secrets, (secret) => hexDigestMatches(candidate, hmacSha256(secret, rawBody)));
  },

  sign(body, { secret, headers }) {
    headers.set('X-Hub-Signature-256', `sha256=${hmacSha256(secret, body).toString('hex')}`);
  },

  credential: () => ({ headers: ['X-Hub-Signature-256'], mismatch: SIGNATURE_MISMATCH }),

  parse(body, headers) {
    if (!isGithubBody(body)) {
      const parsed = bodySchema().safeParse(body);
      if (!parsed.success) throw new PayloadError(`not a GitHub webhook body: ${payloadProblems(parsed.error)}`, { cause: parsed.error });
    }
    // The body has the shape of bodySchema() (checked just above); its fields are read in place.
    const data = body as z.infer<ReturnType<typeof bodySchema>>;
    const event = header(headers, 'x-github-event');
    if (event === undefined) throw new PayloadError('missing X-GitHub-Event header');
    const action = data.action;
    const type = action === undefined ? event : `${event}.${action}`;
    const about = Object.hasOwn(ABOUT, event) ? missingPath(body, ABOUT[event]!) : undefined;
    if (about !== undefined) throw new PayloadError(`GitHub ${type} webhook has no ${about}`);
    const owner = data.repository ? `repo/${data.repository.id}` : data.organization ? `org/${data.organization.id}` : 'hook';
    let identity = `${owner}:${event}`;
    let link: string | undefined;
    for (const [key, field] of OBJECTS) {
      const obj = objectOf(body, key);
      const id = obj === undefined ? undefined : str(obj[field]);
      if (obj !== undefined && id !== undefined) {
        // Code scanning, Dependabot and secret scanning number their alerts separately.
        identity = `${owner}:${key === 'alert' ? event : key}/${id}`;
        link = str(obj['html_url']);
        break;
      }
    }
    const repoUrl = str(objectOf(body, 'repository')?.['html_url']);
    const note = noteOf(event, action, body);
    return [
      {
        source: 'github',
        type,
        deliveryId: header(headers, 'x-github-delivery'),
        identity,
        signal: event === 'ping' ? 'informational' : signalOf(event, action, body),
        ping: event === 'ping',
        link: link ?? repoUrl,
        occurredAt: updatedAt(body),
        payload: body,
        ...(note !== undefined ? { note } : {}),
      } satisfies SourceEventOf<'github'>,
    ];
  },
} satisfies WebhookSource<Settings, 'github'>;
