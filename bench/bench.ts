/**
 * `npm run bench`: CPU cost of one webhook through the ingest handler against the CPU floor
 * (/work/shared/TOOLCHAIN.md), the Lambda bundle size and its module load time.
 *
 *   npm run bench                 table + one summary line per target; exit 0
 *   npm run bench -- --strict     exit 1 when a target is missed
 *   npm run -s bench -- --json    the figures as JSON on stdout (the table goes to stderr; -s keeps
 *                                 npm's own banner off stdout)
 *   npm run bench -- --quick      shorter measurement windows (smoke run)
 *   npm run bench -- --stages     also time each stage of the handler path on its own
 *   npm run bench -- --base64     the body base64-encoded (API Gateway's form for binary types)
 *                                 instead of as text (its form for application/json)
 *   node --cpu-prof --import tsx bench/bench.ts --profile [--size=2KB]
 *                                 only the handler loop, for a CPU profile of the handler path
 *
 * Not a test: figures depend on the machine. Bounded in time (about 22 s on 2 cores, 32 s with --stages).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { CreatedCase, DatadogClient } from '../lambda/datadog/client.js';
import type { CaseCreateRequest } from '../lambda/datadog/schema.js';
import middy from '@middy/core';
import { deliverCase } from '../lambda/delivery/deliver.js';
import { createIngestHandler, utf8Bytes } from '../lambda/ingest/handler.js';
import { parseJsonObject, parseJsonObjectText } from '../lambda/ingest/parse-body.js';
import type { CompiledRules } from '../lambda/mapping/compile-rules.js';
import { mapEventToCase } from '../lambda/mapping/map-event.js';
import { loadRulesFile } from '../lambda/mapping/load-rules-file.js';
import { silentLogger } from '../lambda/shared/log.js';
import { MemoryActionQueue } from '../lambda/delivery/queue.js';
import { newIntent } from '../lambda/ledger/intent-id.js';
import type { AlertKey, BeginCreateInput, BeginCreateResult, Ledger, LedgerEntry } from '../lambda/ledger/types.js';
import type { SecretBag, SecretsProvider } from '../lambda/shared/secrets.js';
import { signRequest } from '../lambda/local/sign.js';
import { LAMBDA_ENVIRONMENT, lambdaBuildOptions } from '../lib/lambda-bundle.js';
import { readRulesForBundle } from '../lib/rules-asset.js';

/** The project root: the nearest directory above this file with a package.json (also from a bundled copy). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
const RULES_FILE = join(ROOT, 'config/rules.yaml');
const OUT_DIR = join(ROOT, 'bench/out');

// ---------------------------------------------------------------------------------------------
// Options and targets

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const option = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const STRICT = flag('strict');
const JSON_OUT = flag('json');
const QUICK = flag('quick');
const PROFILE = flag('profile');
const STAGES = flag('stages');
const BASE64 = flag('base64');

const TARGETS = {
  ratio2KB: 3,
  ratio20KB: 2,
  bundleKB: 200,
  loadAboveNodeMs: 60,
} as const;

const WARMUP_CALLS = QUICK ? 100 : 300;
const WARMUP_MS = QUICK ? 100 : 400;
const MEASURE_MS = QUICK ? 400 : 1500;
const BATCH_MS = 5;
const LOAD_RUNS = QUICK ? 5 : 15;

/** Human output goes to stderr with --json so stdout stays machine-readable. */
const say = (line = ''): void => {
  (JSON_OUT ? process.stderr : process.stdout).write(`${line}\n`);
};

// ---------------------------------------------------------------------------------------------
// Statistics

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

const round = (n: number, digits = 1): number => Number(n.toFixed(digits));
const fmtUs = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} us`);

// ---------------------------------------------------------------------------------------------
// Payloads: a GitHub `issues` `opened` delivery, compact JSON, padded to a target size

const SECRET = 'bench-github-webhook-secret-0123456789';
const SECRETS: SecretBag = Object.freeze({
  GITHUB_WEBHOOK_SECRET: SECRET,
  DD_API_KEY: '0123456789abcdef0123456789abcdef',
  DD_APP_KEY: '0123456789abcdef0123456789abcdef01234567',
});

const OWNER = 'acme-corp';
const REPO = 'checkout-service';
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

function bodyText(chars: number): string {
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
function payloadOfSize(bytes: number, shape: PayloadShape): string {
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

interface Size {
  readonly name: string;
  readonly bytes: number;
  readonly shape: PayloadShape;
}

const SIZES: readonly Size[] = [
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
function apiGatewayEvent(raw: Buffer): APIGatewayProxyEventV2 {
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

// ---------------------------------------------------------------------------------------------
// The handler, Datadog stubbed in process

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

let created = 0;
/** The last request the handler sent: its case body is what the floor stringifies. */
let lastRequest: CaseCreateRequest | undefined;
const fakeDatadog: DatadogClient = {
  // What the real client does before the network: serialize the request. Then a created case.
  async createCase(request: CaseCreateRequest): Promise<CreatedCase> {
    sink ^= JSON.stringify(request).length;
    created += 1;
    lastRequest = request;
    return { id: '4f7d3c1e-2b9a-4c55-8d1e-0a1b2c3d4e5f', key: `DDFC-${created}`, statusName: 'Open' };
  },
  // A first firing only creates: the other calls are not on the path the bench measures.
  addComment: () => offPath('Datadog addComment'),
  setStatus: () => offPath('Datadog setStatus'),
  getCase: () => offPath('Datadog getCase'),
  findCaseByMarker: () => offPath('Datadog findCaseByMarker'),
};

let loadedRules: CompiledRules | undefined;
const rules = (): CompiledRules => (loadedRules ??= loadRulesFile(RULES_FILE));

/**
 * The ledger calls stubbed in process (issue 4: "with the ledger in the path, ledger calls stubbed
 * in process"): every call answers as the DynamoDB table does for an alert and a delivery id it has
 * never seen (conditional writes succeed, reads find nothing), with the entries DynamoLedger returns
 * (the intent built by the shared newIntent). It keeps nothing between webhooks, so each one takes
 * the whole first-firing path: delivery id remembered, alert read, intent claimed, case created,
 * intent completed. `calls` lets the bench check that every webhook made exactly those calls.
 *
 * (A MemoryLedger emptied after each call, used before, also timed its own Map churn: about 8 us a
 * webhook that neither the DynamoDB ledger nor the bridge spends.)
 */
class FirstFiringLedger implements Ledger {
  readonly calls = { rememberDelivery: 0, get: 0, beginCreate: 0, completeCreate: 0 };
  private intent: LedgerEntry | undefined;

  async rememberDelivery(): Promise<boolean> {
    this.calls.rememberDelivery += 1;
    return true;
  }

  async get(): Promise<LedgerEntry | undefined> {
    this.calls.get += 1;
    return undefined;
  }

  async beginCreate(input: BeginCreateInput): Promise<BeginCreateResult> {
    this.calls.beginCreate += 1;
    this.intent = newIntent(input);
    return { won: true, entry: this.intent };
  }

  async completeCreate(_key: AlertKey, intentId: string, created: { caseId: string; caseKey: string | undefined }, now: number): Promise<LedgerEntry | undefined> {
    this.calls.completeCreate += 1;
    const intent = this.intent;
    if (intent === undefined || intent.intentId !== intentId) throw new Error('bench ledger: completeCreate without its beginCreate');
    return { ...intent, state: 'open', caseId: created.caseId, caseKey: created.caseKey, openedAt: now };
  }

  // Not on the first-firing path: reaching one of these means the bench no longer measures it.
  takeOverCreate(): Promise<BeginCreateResult> {
    return offPath('ledger takeOverCreate');
  }
  abandonCreate(): Promise<boolean> {
    return offPath('ledger abandonCreate');
  }
  markCreateAmbiguous(): Promise<boolean> {
    return offPath('ledger markCreateAmbiguous');
  }
  recordOccurrence(): Promise<LedgerEntry | undefined> {
    return offPath('ledger recordOccurrence');
  }
  markCommented(): Promise<boolean> {
    return offPath('ledger markCommented');
  }
  markResolved(): Promise<boolean> {
    return offPath('ledger markResolved');
  }
  markClosed(): Promise<boolean> {
    return offPath('ledger markClosed');
  }
  markReopened(): Promise<boolean> {
    return offPath('ledger markReopened');
  }
  forgetDelivery(): Promise<void> {
    return offPath('ledger forgetDelivery');
  }
}

function offPath(call: string): never {
  throw new Error(`bench: ${call} is not on the first-firing path the bench measures`);
}

const benchLedger = new FirstFiringLedger();

function benchHandler(): Handler {
  const secrets: SecretsProvider = { get: async () => SECRETS, refresh: async () => SECRETS };
  const datadog = fakeDatadog;
  const handler = createIngestHandler({
    rules: rules(),
    secrets,
    datadog,
    queue: new MemoryActionQueue(),
    // The ledger in the path (issue 4), its calls stubbed: every webhook is a first firing.
    ledger: benchLedger,
    logger: silentLogger,
    maxBodyBytes: 1024 * 1024,
  });
  return handler as unknown as Handler;
}

/** Keeps results alive so the measured work cannot be optimized away. */
let sink = 0;

const CONTEXT = {
  functionName: 'case-bridge-ingest',
  awsRequestId: 'bench',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

// ---------------------------------------------------------------------------------------------
// The floor (issue 2, TOOLCHAIN.md): JSON.parse of the body + HMAC-SHA256 of its bytes (hex) +
// JSON.stringify of the case body: the least work any bridge does for the webhook (read it, check
// it, write the case it makes). The case body is the one the handler sends for this payload (the
// preset copies the issue body into the description: 0.8 KB for the 2 KB payload, 7 KB for 20 KB,
// 20 KB for 200 KB). TOOLCHAIN.md's table stringifies a fixed 1 KB case, its mapping's size; that
// floor is measured too and its ratio printed beside, for comparison.

/** TOOLCHAIN.md's 1 KB case. */
const TOOLCHAIN_CASE: CaseCreateRequest = {
  data: {
    type: 'case',
    attributes: {
      title: `[GitHub] ${OWNER}/${REPO}#1874: Checkout returns 500 when a gift card covers part of the order`,
      type_id: '00000000-0000-0000-0000-000000000001',
      description: `${bodyText(640)}\n\nSource: https://github.com/${OWNER}/${REPO}/issues/1874`,
      priority: 'P4',
    },
    relationships: { project: { data: { id: '00000000-0000-0000-0000-000000000000', type: 'project' } } },
  },
};

const floorParts = {
  parse: (text: string) => {
    sink ^= Object.keys(JSON.parse(text) as object).length;
  },
  hmac: (raw: Buffer) => {
    sink ^= createHmac('sha256', SECRET).update(raw).digest('hex').length;
  },
  stringify: (caseBody: CaseCreateRequest) => {
    sink ^= JSON.stringify(caseBody).length;
  },
};

function floor(text: string, raw: Buffer, caseBody: CaseCreateRequest): void {
  floorParts.parse(text);
  floorParts.hmac(raw);
  floorParts.stringify(caseBody);
}

// ---------------------------------------------------------------------------------------------
// Measurement: per-call time = batch time / batch size; p50 over batches

interface Timing {
  /** Process CPU time (user + system) per call, p50 over batches: robust to other processes on the machine. */
  readonly p50Us: number;
  readonly meanUs: number;
  /** Wall time per call, p50 over batches (inflated when the machine is busy). */
  readonly wallP50Us: number;
  readonly calls: number;
  readonly batches: number;
}

type Work = () => unknown;

interface Batch {
  readonly cpuUs: number;
  readonly wallUs: number;
}

async function runBatch(work: Work, n: number, isAsync: boolean): Promise<Batch> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  if (isAsync) for (let i = 0; i < n; i++) await work();
  else for (let i = 0; i < n; i++) work();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { cpuUs: (c.user + c.system) / n, wallUs: (wall * 1000) / n };
}

async function batchSize(work: Work, isAsync: boolean): Promise<number> {
  const perCall = (await runBatch(work, 20, isAsync)).wallUs;
  return Math.max(1, Math.round((BATCH_MS * 1000) / Math.max(perCall, 0.01)));
}

function timing(batches: readonly Batch[], n: number): Timing {
  const cpu = batches.map((b) => b.cpuUs);
  return { p50Us: median(cpu), meanUs: mean(cpu), wallP50Us: median(batches.map((b) => b.wallUs)), calls: batches.length * n, batches: batches.length };
}

/**
 * Measures the works in alternating batches for `ms` milliseconds each, so that all see the same
 * machine state (frequency, neighbours, GC pressure).
 */
async function measureInterleaved(works: readonly { work: Work; async: boolean }[], ms: number): Promise<Timing[]> {
  const sizes: number[] = [];
  for (const w of works) sizes.push(await batchSize(w.work, w.async));
  const batches: Batch[][] = works.map(() => []);
  const end = performance.now() + ms * works.length;
  while (performance.now() < end || batches[0]!.length < 5) {
    for (let i = 0; i < works.length; i++) batches[i]!.push(await runBatch(works[i]!.work, sizes[i]!, works[i]!.async));
  }
  return batches.map((b, i) => timing(b, sizes[i]!));
}

async function measureOne(work: Work, ms: number, isAsync = false): Promise<Timing> {
  const n = await batchSize(work, isAsync);
  const t: Batch[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end || t.length < 5) t.push(await runBatch(work, n, isAsync));
  return timing(t, n);
}

interface SizeResult {
  readonly size: string;
  readonly bytes: number;
  /** UTF-8 bytes of the case body the handler sends (JSON). */
  readonly caseBytes: number;
  readonly handler: Timing;
  readonly floor: Timing;
  readonly floorParts: { parseUs: number; hmacUs: number; stringifyUs: number };
  readonly ratio: number;
  /** The floor with TOOLCHAIN.md's fixed 1 KB case instead of this payload's, and the ratio to it. */
  readonly toolchainFloor: Timing;
  readonly toolchainRatio: number;
}

async function measureSize(handler: Handler, size: Size): Promise<SizeResult> {
  const text = payloadOfSize(size.bytes, size.shape);
  const raw = Buffer.from(text, 'utf8');
  const event = apiGatewayEvent(raw);

  lastRequest = undefined;
  const first = await handler(event, CONTEXT);
  if (first.statusCode !== 201 || lastRequest === undefined) {
    throw new Error(`the handler answered ${first.statusCode} instead of 201 for the ${size.name} payload: ${first.body ?? ''}`);
  }
  // The case body as plain data (flat strings), as a bridge that wrote it directly would hold it.
  const caseJson = JSON.stringify(lastRequest);
  const caseBody = JSON.parse(caseJson) as CaseCreateRequest;
  const callHandler = () => handler(event, CONTEXT);
  const callFloor = () => floor(text, raw, caseBody);
  const callToolchainFloor = () => floor(text, raw, TOOLCHAIN_CASE);
  // At least WARMUP_CALLS calls and WARMUP_MS: the JIT has optimized the hot path before measuring.
  const warmEnd = performance.now() + WARMUP_MS;
  for (let i = 0; i < WARMUP_CALLS || performance.now() < warmEnd; i++) {
    await callHandler();
    callFloor();
    callToolchainFloor();
  }
  const [h, f, t] = await measureInterleaved(
    [
      { work: callHandler, async: true },
      { work: callFloor, async: false },
      { work: callToolchainFloor, async: false },
    ],
    MEASURE_MS,
  );
  const partMs = QUICK ? 100 : 250;
  const parts = {
    parseUs: (await measureOne(() => floorParts.parse(text), partMs)).p50Us,
    hmacUs: (await measureOne(() => floorParts.hmac(raw), partMs)).p50Us,
    stringifyUs: (await measureOne(() => floorParts.stringify(caseBody), partMs)).p50Us,
  };
  return {
    size: size.name,
    bytes: size.bytes,
    caseBytes: Buffer.byteLength(caseJson),
    handler: h!,
    floor: f!,
    floorParts: parts,
    ratio: h!.p50Us / f!.p50Us,
    toolchainFloor: t!,
    toolchainRatio: h!.p50Us / t!.p50Us,
  };
}

// ---------------------------------------------------------------------------------------------
// --stages: each step of the handler path timed on its own (the exported pieces handler.ts calls)

interface StageResult {
  readonly size: string;
  readonly stages: { name: string; p50Us: number }[];
}

async function measureStages(size: Size, handlerP50Us: number): Promise<StageResult> {
  const text = payloadOfSize(size.bytes, size.shape);
  const raw = Buffer.from(text, 'utf8');
  const event = apiGatewayEvent(raw);
  const compiled = rules().sources.get('github');
  if (compiled === undefined) throw new Error('config/rules.yaml has no github source');
  const headers = event.headers as Record<string, string>;
  const body = parseJsonObject(raw);
  const [ev] = compiled.source.parse(body, headers);
  if (ev === undefined) throw new Error('github parse gave no event');
  const mapped = await mapEventToCase(compiled, ev);
  if (mapped.outcome !== 'case') throw new Error(`mapping gave ${mapped.outcome}`);
  const keys = { get: async () => ({ apiKey: 'a', appKey: 'b' }), refresh: async () => ({ apiKey: 'a', appKey: 'b' }) };
  const action = { kind: 'create_case' as const, source: ev.source, deliveryId: ev.deliveryId, identity: ev.identity, rule: mapped.rule, request: mapped.request, attempt: 0, firstSeen: Date.now() };
  const bare = middy(async () => ({ statusCode: 200 }));
  const bareNoContext = middy(async () => ({ statusCode: 200 }));
  const ms = QUICK ? 100 : 300;
  const stages: [string, Work, boolean][] = [
    BASE64 ? ['Buffer.from(body, base64)', () => Buffer.from(event.body ?? '', 'base64'), false] : ['utf8Bytes(body) (for the HMAC)', () => utf8Bytes(event.body ?? ''), false],
    ['github verify (HMAC + compare)', () => compiled.source.verify(raw, headers, [SECRET], 0), false],
    BASE64 ? ['parseJsonObject (utf8 + JSON.parse + shape)', () => parseJsonObject(raw), false] : ['parseJsonObjectText (JSON.parse + shape)', () => parseJsonObjectText(text, raw), false],
    ['  of which JSON.parse(text)', () => JSON.parse(text), false],
    ['github parse (zod body schema, identity)', () => compiled.source.parse(body, headers), false],
    ['mapEventToCase (templates + case schema)', () => mapEventToCase(compiled, ev), true],
    ['deliverCase (stub Datadog: stringify)', () => deliverCase(action, { datadog: fakeDatadog, keys, queue: new MemoryActionQueue(), logger: silentLogger }), true],
    ['middy, empty handler, Lambda context', () => bare({}, CONTEXT), true],
    ['middy, empty handler, no getRemainingTime', () => bareNoContext({}, {} as Context), true],
  ];
  const out: { name: string; p50Us: number }[] = [];
  for (const [name, work, isAsync] of stages) {
    for (let i = 0; i < 200; i++) await work();
    out.push({ name, p50Us: (await measureOne(work, ms, isAsync)).p50Us });
  }
  const counted = out.filter((s) => !s.name.startsWith(' ') && !s.name.includes('no getRemainingTime')).reduce((a, s) => a + s.p50Us, 0);
  out.push({ name: 'rest (handler p50 - stages above)', p50Us: handlerP50Us - counted });
  return { size: size.name, stages: out };
}

// ---------------------------------------------------------------------------------------------
// Bundle: lambda/ingest/index.ts with the options of the stack (lib/lambda-bundle.ts)

interface BundleResult {
  /** The entry (index.mjs). */
  readonly file: string;
  /** What a container loads at start: the entry and the chunks it imports statically. */
  readonly bytes: number;
  /** Chunks loaded only by a dynamic import (JSONata: on the first expression the fast path cannot run). */
  readonly lazy: { name: string; bytes: number }[];
  readonly mapBytes: number;
  readonly buildMs: number;
  /** Of the start bytes. */
  readonly contributors: { name: string; bytes: number }[];
}

/** `node_modules/@scope/pkg/...` -> `@scope/pkg`; own code -> its directory (`lambda/mapping`). */
function contributorOf(input: string): string {
  const parts = input.split('/');
  const nm = parts.lastIndexOf('node_modules');
  if (nm !== -1) {
    const first = parts[nm + 1] ?? '?';
    return first.startsWith('@') ? `${first}/${parts[nm + 2] ?? ''}` : first;
  }
  return parts.length > 2 ? parts.slice(0, 2).join('/') : parts.slice(0, -1).join('/') || input;
}

async function buildBundle(): Promise<BundleResult> {
  const esbuild = await import('esbuild');
  const outDir = join(OUT_DIR, 'ingest');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const rulesForBundle = readRulesForBundle(RULES_FILE);
  const started = performance.now();
  const result = await esbuild.build({
    ...lambdaBuildOptions(join(ROOT, 'lambda/ingest/index.ts'), outDir, { __CASE_BRIDGE_RULES__: rulesForBundle.json, __CASE_BRIDGE_EXPRESSIONS__: rulesForBundle.expressionsJson }),
    absWorkingDir: ROOT,
    metafile: true,
    logLevel: 'silent',
  });
  const buildMs = performance.now() - started;
  const outputs = result.metafile.outputs;
  const outfile = join(outDir, 'index.mjs');
  const entryKey = Object.keys(outputs).find((k) => join(ROOT, k) === outfile || k === outfile);
  if (entryKey === undefined) throw new Error(`esbuild wrote no ${outfile}`);
  // The start set: the entry and, transitively, what it imports statically.
  const start = new Set<string>();
  const visit = (key: string): void => {
    if (start.has(key)) return;
    start.add(key);
    for (const i of outputs[key]?.imports ?? []) if (i.kind === 'import-statement' && !i.external && outputs[i.path]) visit(i.path);
  };
  visit(entryKey);
  const byName = new Map<string, number>();
  let bytes = 0;
  let mapBytes = 0;
  const lazy: { name: string; bytes: number }[] = [];
  for (const [key, output] of Object.entries(outputs)) {
    if (key.endsWith('.map')) {
      mapBytes += output.bytes;
      continue;
    }
    if (!start.has(key)) {
      lazy.push({ name: relative(outDir, join(ROOT, key)), bytes: output.bytes });
      continue;
    }
    bytes += output.bytes;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = contributorOf(input);
      byName.set(name, (byName.get(name) ?? 0) + bytesInOutput);
    }
  }
  const contributors = [...byName].map(([name, b]) => ({ name, bytes: b })).sort((a, b) => b.bytes - a.bytes);
  return { file: outfile, bytes, lazy, mapBytes, buildMs, contributors };
}

// ---------------------------------------------------------------------------------------------
// Module load time: a fresh `node` importing the bundle vs `node` doing nothing, same harness

interface LoadResult {
  readonly bareNodeMs: number;
  readonly bundleNodeMs: number;
  readonly aboveNodeMs: number;
  /** Inside the child: performance.now() around `await import(bundle)`. */
  readonly importMs: number;
  readonly runs: number;
}

function spawnTimed(args: string[], env: NodeJS.ProcessEnv): { ms: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', cwd: ROOT });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

function measureLoad(bundleFile: string): LoadResult {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '',
    CASE_BRIDGE_SECRET_ID: 'bench',
    // The entry reads its queue URLs at load, as the stack sets them; nothing is sent.
    CASE_BRIDGE_RETRY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-retry',
    CASE_BRIDGE_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-dlq',
    CASE_BRIDGE_LEDGER_TABLE: 'bench-ledger',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // What the deployed function starts with (NODE_OPTIONS included, were it set there).
    ...LAMBDA_ENVIRONMENT,
  };
  const url = pathToFileURL(bundleFile).href;
  const bareArgs = ['--input-type=module', '-e', 'const t = performance.now(); process.stdout.write(String(performance.now() - t));'];
  const bundleArgs = ['--input-type=module', '-e', `const t = performance.now(); const m = await import(${JSON.stringify(url)}); if (typeof m.handler !== 'function') process.exit(3); process.stdout.write(String(performance.now() - t));`];
  // One of each first: the file system cache.
  spawnTimed(bareArgs, env);
  spawnTimed(bundleArgs, env);
  const bare: number[] = [];
  const bundle: number[] = [];
  const inner: number[] = [];
  for (let i = 0; i < LOAD_RUNS; i++) {
    bare.push(spawnTimed(bareArgs, env).ms);
    const r = spawnTimed(bundleArgs, env);
    bundle.push(r.ms);
    inner.push(Number(r.stdout));
  }
  const bareNodeMs = median(bare);
  const bundleNodeMs = median(bundle);
  return { bareNodeMs, bundleNodeMs, aboveNodeMs: bundleNodeMs - bareNodeMs, importMs: median(inner), runs: LOAD_RUNS };
}

// ---------------------------------------------------------------------------------------------
// Main

interface Check {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target: number;
  readonly ok: boolean;
}

function check(name: string, value: number, unit: string, target: number): Check {
  return { name, value, unit, target, ok: value <= target };
}

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  rows.forEach((r, i) => {
    say(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) say(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

async function profileOnly(): Promise<void> {
  const handler = benchHandler();
  const wanted = option('size');
  const seconds = Number(option('seconds') ?? 5);
  for (const size of SIZES.filter((s) => wanted === undefined || s.name.toLowerCase() === wanted.toLowerCase())) {
    const event = apiGatewayEvent(Buffer.from(payloadOfSize(size.bytes, size.shape), 'utf8'));
    const end = performance.now() + seconds * 1000;
    let calls = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) await handler(event, CONTEXT);
      calls += 100;
    }
    say(`${size.name}: ${calls} calls, ${fmtUs((seconds * 1e6) / calls)} per call (profiler on)`);
  }
}

async function main(): Promise<void> {
  if (PROFILE) return profileOnly();
  const startedAt = performance.now();
  say(`case-bridge bench: node ${process.version}, ${process.platform}/${process.arch}${QUICK ? ' (quick)' : ''}`);
  say();

  // 1 + 2: handler vs floor
  const handler = benchHandler();
  const sizes: SizeResult[] = [];
  for (const size of SIZES) sizes.push(await measureSize(handler, size));
  // Every webhook took the whole first-firing path through the ledger (FirstFiringLedger).
  const calls = benchLedger.calls;
  if (calls.rememberDelivery !== created || calls.get !== created || calls.beginCreate !== created || calls.completeCreate !== created) {
    throw new Error(`the handler no longer takes the first-firing path: ${created} cases created, ledger calls ${JSON.stringify(calls)}`);
  }
  say(`Per-webhook CPU time (process.cpuUsage per batch, p50 over batches): GitHub issues.opened through the middy handler, body ${BASE64 ? 'base64-encoded (--base64)' : 'as text, as API Gateway hands over application/json'}, Datadog and the ledger calls stubbed in process, vs the floor`);
  say('floor = JSON.parse(body) + HMAC-SHA256(bytes) + JSON.stringify(the case body the handler sends); TOOLCHAIN.md\'s floor stringifies a fixed 1 KB case instead (last two columns)');
  table([
    ['payload', 'case body', 'handler p50', 'handler mean', 'floor p50', 'floor mean', 'ratio', 'parse', 'hmac', 'stringify', 'wall p50 h/floor', 'handler calls', '1 KB-case floor', 'ratio to it'],
    ...sizes.map((s) => [
      s.size,
      `${(s.caseBytes / 1024).toFixed(1)} KB`,
      fmtUs(s.handler.p50Us),
      fmtUs(s.handler.meanUs),
      fmtUs(s.floor.p50Us),
      fmtUs(s.floor.meanUs),
      s.ratio.toFixed(2),
      fmtUs(s.floorParts.parseUs),
      fmtUs(s.floorParts.hmacUs),
      fmtUs(s.floorParts.stringifyUs),
      `${fmtUs(s.handler.wallP50Us)} / ${fmtUs(s.floor.wallP50Us)}`,
      String(s.handler.calls),
      fmtUs(s.toolchainFloor.p50Us),
      s.toolchainRatio.toFixed(2),
    ]),
  ]);
  say();

  const stageResults: StageResult[] = [];
  if (STAGES) {
    for (const size of SIZES) stageResults.push(await measureStages(size, sizes.find((s) => s.size === size.name)!.handler.p50Us));
    say('Stages of the handler path, each timed alone (p50)');
    const names = stageResults[0]!.stages.map((s) => s.name);
    table([['stage', ...stageResults.map((r) => r.size)], ...names.map((name) => [name, ...stageResults.map((r) => fmtUs(r.stages.find((s) => s.name === name)!.p50Us))])]);
    say();
  }

  // 3: bundle
  const bundle = await buildBundle();
  const lazyKB = bundle.lazy.reduce((a, c) => a + c.bytes, 0) / 1024;
  say(`Bundle: lambda/ingest/index.ts -> ${relative(ROOT, bundle.file)}: ${(bundle.bytes / 1024).toFixed(1)} KB loaded at start (+ ${lazyKB.toFixed(1)} KB in chunks loaded on first need: ${bundle.lazy.map((c) => `${c.name} ${(c.bytes / 1024).toFixed(1)} KB`).join(', ') || 'none'}; ${((bundle.bytes / 1024) + lazyKB).toFixed(1)} KB in all; + ${(bundle.mapBytes / 1024).toFixed(0)} KB source maps), built in ${bundle.buildMs.toFixed(0)} ms`);
  table([['contributor', 'KB', 'share'], ...bundle.contributors.slice(0, 10).map((c) => [c.name, (c.bytes / 1024).toFixed(1), `${((100 * c.bytes) / bundle.bytes).toFixed(0)}%`])]);
  say();

  // 4: load time
  const load = measureLoad(bundle.file);
  say(`Module load (median of ${load.runs} fresh processes): node alone ${load.bareNodeMs.toFixed(1)} ms, node + import(bundle) ${load.bundleNodeMs.toFixed(1)} ms, difference ${load.aboveNodeMs.toFixed(1)} ms (import() itself: ${load.importMs.toFixed(1)} ms)`);
  say();

  const byName = new Map(sizes.map((s) => [s.size, s]));
  const checks: Check[] = [
    check('ratio@2KB', byName.get('2KB')!.ratio, '', TARGETS.ratio2KB),
    check('ratio@20KB', byName.get('20KB')!.ratio, '', TARGETS.ratio20KB),
    check('bundle', bundle.bytes / 1024, 'KB', TARGETS.bundleKB),
    check('load above node', load.aboveNodeMs, 'ms', TARGETS.loadAboveNodeMs),
  ];
  const ratio200 = byName.get('200KB')!.ratio;
  say('Targets');
  for (const c of checks) {
    const v = c.unit === '' ? c.value.toFixed(2) : `${c.value.toFixed(1)} ${c.unit}`;
    say(`${c.name} ${v} (target <= ${c.target}${c.unit === '' ? '' : ` ${c.unit}`}) ${c.ok ? 'ok' : 'FAIL'}`);
  }
  say(`ratio@200KB ${ratio200.toFixed(2)} (report only)`);
  say(`with TOOLCHAIN.md's 1 KB-case floor: ratio@2KB ${byName.get('2KB')!.toolchainRatio.toFixed(2)}, ratio@20KB ${byName.get('20KB')!.toolchainRatio.toFixed(2)}, ratio@200KB ${byName.get('200KB')!.toolchainRatio.toFixed(2)} (report only)`);
  const failed = checks.filter((c) => !c.ok);
  say(failed.length === 0 ? 'all targets met' : `FAIL: ${failed.map((c) => c.name).join(', ')}${STRICT ? '' : ' (exit 0; pass --strict to fail the run)'}`);
  say(`(${((performance.now() - startedAt) / 1000).toFixed(1)} s)`);

  if (JSON_OUT) {
    const figures = {
      node: process.version,
      sizes: sizes.map((s) => ({
        size: s.size,
        bytes: s.bytes,
        handlerP50Us: round(s.handler.p50Us),
        handlerMeanUs: round(s.handler.meanUs),
        floorP50Us: round(s.floor.p50Us),
        floorMeanUs: round(s.floor.meanUs),
        handlerWallP50Us: round(s.handler.wallP50Us),
        floorWallP50Us: round(s.floor.wallP50Us),
        ratio: round(s.ratio, 2),
        caseBytes: s.caseBytes,
        toolchainFloorP50Us: round(s.toolchainFloor.p50Us),
        toolchainRatio: round(s.toolchainRatio, 2),
        floorParts: { parseUs: round(s.floorParts.parseUs), hmacUs: round(s.floorParts.hmacUs), stringifyUs: round(s.floorParts.stringifyUs) },
        handlerCalls: s.handler.calls,
      })),
      bundle: { kb: round(bundle.bytes / 1024), lazyChunks: bundle.lazy.map((c) => ({ name: c.name, kb: round(c.bytes / 1024) })), mapKb: round(bundle.mapBytes / 1024), top: bundle.contributors.slice(0, 10).map((c) => ({ name: c.name, kb: round(c.bytes / 1024) })) },
      load: { bareNodeMs: round(load.bareNodeMs), bundleNodeMs: round(load.bundleNodeMs), aboveNodeMs: round(load.aboveNodeMs), importMs: round(load.importMs), runs: load.runs },
      ...(STAGES ? { stages: stageResults.map((r) => ({ size: r.size, stages: r.stages.map((st) => ({ name: st.name.trim(), p50Us: round(st.p50Us) })) })) } : {}),
      targets: checks.map((c) => ({ name: c.name, value: round(c.value, 2), target: c.target, ok: c.ok })),
      ok: failed.length === 0,
    };
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  }
  if (sink === 0.5) say('unreachable');
  if (STRICT && failed.length > 0) process.exitCode = 1;
}

// Run when executed (`tsx bench/bench.ts`, or a bundled copy); importing it only gives the helpers.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();

export { apiGatewayEvent, benchHandler, floor, payloadOfSize, SIZES };
