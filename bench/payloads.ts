/**
 * The bench's webhooks: GitHub `issues` `opened` deliveries, compact JSON padded to a target size, and
 * the API Gateway event that carries one, signed with the bench's secret.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { signRequest } from '../lambda/local/sign.js';
import type { SecretBag } from '../lambda/shared/secrets.js';
import { BASE64 } from './options.js';

export const SECRET = 'bench-github-webhook-secret-0123456789';
export const SECRETS: SecretBag = Object.freeze({
  GITHUB_WEBHOOK_SECRET: SECRET,
  DD_API_KEY: '0123456789abcdef0123456789abcdef',
  DD_APP_KEY: '0123456789abcdef0123456789abcdef01234567',
});

export const OWNER = 'acme-corp';
export const REPO = 'checkout-service';
const API = 'https://api.github.com';

function shortUser(login: string, id: number): Record<string, unknown> {
  return { login, id, type: 'User', html_url: `https://github.com/${login}` };
}

function fullUser(login: string, id: number): Record<string, unknown> {
  const url = `${API}/users/${login}`;
  return {
    login,
    id,
    node_id: Buffer.from(`04:User${id}`).toString('base64'),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url,
    html_url: `https://github.com/${login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: 'User',
    user_view_type: 'public',
    site_admin: false,
  };
}

const LABEL_NAMES = ['bug', 'p1', 'checkout', 'payments', 'regression', 'needs-triage', 'customer-impact', 'backend', 'api', 'incident'];

function label(i: number): Record<string, unknown> {
  const name = i < LABEL_NAMES.length ? LABEL_NAMES[i]! : `area/component-${i}`;
  return {
    id: 1_000_000_000 + i,
    node_id: Buffer.from(`LA_kwDO${i}`).toString('base64'),
    url: `${API}/repos/${OWNER}/${REPO}/labels/${encodeURIComponent(name)}`,
    name,
    color: ((i * 2_654_435_761) >>> 8).toString(16).padStart(6, '0').slice(0, 6),
    default: i === 0,
    description: `Issues about ${name.replace(/[-/]/g, ' ')}`,
  };
}

function fullRepository(): Record<string, unknown> {
  const url = `${API}/repos/${OWNER}/${REPO}`;
  const out: Record<string, unknown> = {
    id: 424242424,
    node_id: 'R_kgDOGUQ3OA',
    name: REPO,
    full_name: `${OWNER}/${REPO}`,
    private: true,
    owner: fullUser(OWNER, 90_000_001),
    html_url: `https://github.com/${OWNER}/${REPO}`,
    description: 'Checkout and payment orchestration service',
    fork: false,
    url,
  };
  for (const k of ['forks', 'keys{/key_id}', 'collaborators{/collaborator}', 'teams', 'hooks', 'issues/events{/number}', 'events', 'assignees{/user}', 'branches{/branch}', 'tags', 'blobs{/sha}', 'git/tags{/sha}', 'git/refs{/sha}', 'trees{/sha}', 'statuses/{sha}', 'languages', 'stargazers', 'contributors', 'subscribers', 'subscription', 'commits{/sha}', 'git/commits{/sha}', 'comments{/number}', 'issues/comments{/number}', 'contents/{+path}', 'compare/{base}...{head}', 'merges', '{archive_format}{/ref}', 'downloads', 'issues{/number}', 'pulls{/number}', 'milestones{/number}', 'notifications{?since,all,participating}', 'labels{/name}', 'releases{/id}', 'deployments']) {
    const key = `${k.replace(/\{.*$/, '').replace(/\/$/, '').replace(/\//g, '_') || 'archive'}_url`;
    out[key] = `${url}/${k}`;
  }
  Object.assign(out, {
    created_at: '2021-11-02T09:14:07Z',
    updated_at: '2025-05-30T17:41:22Z',
    pushed_at: '2025-06-01T08:03:51Z',
    git_url: `git://github.com/${OWNER}/${REPO}.git`,
    ssh_url: `git@github.com:${OWNER}/${REPO}.git`,
    clone_url: `https://github.com/${OWNER}/${REPO}.git`,
    homepage: null,
    size: 48213,
    stargazers_count: 12,
    watchers_count: 12,
    language: 'TypeScript',
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    forks_count: 0,
    archived: false,
    disabled: false,
    open_issues_count: 37,
    license: null,
    allow_forking: false,
    is_template: false,
    topics: ['payments', 'checkout', 'typescript'],
    visibility: 'private',
    default_branch: 'main',
  });
  return out;
}

/** Markdown the way people file incidents: prose, a stack trace, a log excerpt, some non-ASCII. */
const BODY_BLOCKS = [
  '### What happened\n\nSince the deploy at 08:03 UTC, `POST /v2/checkout` answers **500** for roughly 4% of requests — all of them carts with a gift card. Customers see "Something went wrong" and retry; some are charged twice.\n\n',
  '### Steps to reproduce\n\n1. Add any item to the cart\n2. Apply gift card `GC-TEST-0042`\n3. Pay with a saved card\n4. Observe the 500 and the duplicate charge in the PSP dashboard\n\n',
  '### Stack trace\n\n```\nTypeError: Cannot read properties of undefined (reading \'amount\')\n    at applyGiftCard (/app/dist/payments/gift-card.js:88:31)\n    at async Checkout.capture (/app/dist/checkout/capture.js:142:9)\n    at async handler (/app/dist/http/routes/checkout.js:57:20)\n```\n\n',
  '### Logs\n\n```json\n{"level":"error","time":"2025-06-01T08:07:12.481Z","msg":"capture failed","cartId":"c_8f1e2a","psp":"adyen","attempt":2,"error":{"name":"TypeError","message":"Cannot read properties of undefined (reading \\"amount\\")"}}\n{"level":"warn","time":"2025-06-01T08:07:12.502Z","msg":"retrying capture","cartId":"c_8f1e2a","delayMs":250}\n```\n\n',
  '### Expected\n\nThe gift card balance is applied first, the remainder is captured once. Café Zürich (store 118) reported it first; the 日本 storefront is affected too 🙁.\n\n',
  '### Environment\n\n| key | value |\n| --- | --- |\n| service | checkout-service |\n| version | 2025.06.01-1 (sha 3f9c2d1) |\n| region | eu-west-1 |\n| node | 22.16.0 |\n\n',
];

export function bodyText(chars: number): string {
  let out = '';
  for (let i = 0; out.length < chars; i++) out += BODY_BLOCKS[i % BODY_BLOCKS.length]!;
  return out.slice(0, chars);
}

interface PayloadShape {
  /** Full user/repository objects (as GitHub sends them) rather than the minimal fields. */
  readonly full: boolean;
  readonly labels: number;
  readonly assignees: number;
}

function issuesOpened(shape: PayloadShape, body: string): Record<string, unknown> {
  const user = (login: string, id: number) => (shape.full ? fullUser(login, id) : shortUser(login, id));
  const number = 1874;
  const issueUrl = `${API}/repos/${OWNER}/${REPO}/issues/${number}`;
  const assignees = Array.from({ length: shape.assignees }, (_, i) => user(`oncall-engineer-${i}`, 70_000_000 + i));
  const issue: Record<string, unknown> = {
    url: issueUrl,
    html_url: `https://github.com/${OWNER}/${REPO}/issues/${number}`,
    id: 3_141_592_653,
    number,
    title: 'Checkout returns 500 when a gift card covers part of the order',
    user: user('jdoe-payments', 58_000_123),
    labels: Array.from({ length: shape.labels }, (_, i) => label(i)),
    state: 'open',
    locked: false,
    assignee: assignees[0] ?? null,
    assignees,
    comments: 0,
    created_at: '2025-06-01T08:12:44Z',
    updated_at: '2025-06-01T08:12:44Z',
    closed_at: null,
    author_association: 'MEMBER',
    body,
  };
  if (shape.full) {
    Object.assign(issue, {
      repository_url: `${API}/repos/${OWNER}/${REPO}`,
      labels_url: `${issueUrl}/labels{/name}`,
      comments_url: `${issueUrl}/comments`,
      events_url: `${issueUrl}/events`,
      node_id: 'I_kwDOGUQ3OM6xY2Zz',
      milestone: null,
      active_lock_reason: null,
      reactions: { url: `${issueUrl}/reactions`, total_count: 0, '+1': 0, '-1': 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 },
      timeline_url: `${issueUrl}/timeline`,
      performed_via_github_app: null,
      state_reason: null,
      sub_issues_summary: { total: 0, completed: 0, percent_completed: 0 },
    });
  }
  return {
    action: 'opened',
    issue,
    repository: shape.full
      ? fullRepository()
      : { id: 424242424, name: REPO, full_name: `${OWNER}/${REPO}`, private: true, html_url: `https://github.com/${OWNER}/${REPO}`, owner: shortUser(OWNER, 90_000_001) },
    organization: { login: OWNER, id: 90_000_001, url: `${API}/orgs/${OWNER}` },
    sender: user('jdoe-payments', 58_000_123),
  };
}

/** Compact JSON of `shape` whose UTF-8 size is `bytes` (to the byte), padded with issue body text. */
export function payloadOfSize(bytes: number, shape: PayloadShape): string {
  const sizeOf = (chars: number) => Buffer.byteLength(JSON.stringify(issuesOpened(shape, bodyText(chars))));
  // Body growth is monotonic in bytes; bisect on characters.
  let lo = 0;
  let hi = bytes;
  if (sizeOf(0) > bytes) throw new Error(`the ${JSON.stringify(shape)} payload is larger than ${bytes} bytes without a body`);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (sizeOf(mid) <= bytes) lo = mid;
    else hi = mid - 1;
  }
  let text = JSON.stringify(issuesOpened(shape, bodyText(lo)));
  // A multi-byte character or an escape may leave a few bytes short; pad with spaces in the body.
  let extra = bytes - Buffer.byteLength(text);
  if (extra > 0) text = JSON.stringify(issuesOpened(shape, bodyText(lo) + ' '.repeat(extra)));
  extra = bytes - Buffer.byteLength(text);
  if (extra !== 0) throw new Error(`payload size ${Buffer.byteLength(text)} != ${bytes}`);
  return text;
}

export interface Size {
  readonly name: string;
  readonly bytes: number;
  readonly shape: PayloadShape;
}

export const SIZES: readonly Size[] = [
  // Minimal objects: the smallest realistic delivery, a short issue.
  { name: '2KB', bytes: 2 * 1024, shape: { full: false, labels: 2, assignees: 1 } },
  // Full objects as GitHub sends them, 5 labels, 3 assignees, a ~8 KB body.
  { name: '20KB', bytes: 20 * 1024, shape: { full: true, labels: 5, assignees: 3 } },
  // 100 labels (GitHub's maximum), 10 assignees (its maximum), the rest a long body (pasted logs).
  { name: '200KB', bytes: 200 * 1024, shape: { full: true, labels: 100, assignees: 10 } },
];

/**
 * The event API Gateway (HTTP API, payload v2) hands the function. For `application/json` it passes
 * the body as text (`isBase64Encoded: false`; binary types arrive base64-encoded), which the handler
 * parses without decoding bytes; so does the local bridge (lambda/local/bridge.ts apiGatewayBody).
 * `--base64` measures the base64 form instead.
 */
export function apiGatewayEvent(raw: Buffer): APIGatewayProxyEventV2 {
  const delivery = randomUUID();
  const signed = signRequest({
    source: 'github',
    secret: SECRET,
    body: raw,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/8f2a1c4',
      accept: '*/*',
      'x-github-event': 'issues',
      'x-github-delivery': delivery,
      'x-github-hook-id': '512345678',
      'x-github-hook-installation-target-id': '424242424',
      'x-github-hook-installation-target-type': 'repository',
      'x-hub-signature': `sha1=${createHmac('sha1', SECRET).update(raw).digest('hex')}`,
    },
  });
  const headers: Record<string, string> = {
    host: 'abc123.execute-api.eu-west-1.amazonaws.com',
    'content-length': String(raw.length),
    'x-amzn-trace-id': 'Root=1-665ad3f0-0123456789abcdef01234567',
    'x-forwarded-for': '140.82.115.7',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
  };
  for (const [k, v] of Object.entries(signed)) headers[k.toLowerCase()] = v;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/{source}',
    rawPath: '/webhooks/github',
    rawQueryString: '',
    headers,
    pathParameters: { source: 'github' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: headers['host']!,
      domainPrefix: 'abc123',
      http: { method: 'POST', path: '/webhooks/github', protocol: 'HTTP/1.1', sourceIp: '140.82.115.7', userAgent: headers['user-agent']! },
      requestId: 'YxZ1bgHwjoEEJ7w=',
      routeKey: 'POST /webhooks/{source}',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: BASE64 ? raw.toString('base64') : raw.toString('utf8'),
    isBase64Encoded: BASE64,
  };
}
