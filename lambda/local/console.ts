import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeliveryRecord, DeliveryJournal } from '../journal/types.js';
import { FAILED_STATUSES } from '../journal/types.js';
import { parseReplayRequest, ReplayRequestError, type ReplayReport, type ReplayRequest } from '../ingest/replay.js';
import { BridgeError } from '../shared/errors.js';
import * as z from '../shared/zod.js';
import type { DatadogTarget, LocalCasesListing } from './case-management.js';
import type { DeadLetter, DeadLetters } from './dead-letters.js';

/**
 * The local console (issue 16, item 6): `GET /` of `npm start`, on 127.0.0.1 only, never deployed.
 * Server-rendered HTML (every value escaped here, in `esc`: alert texts are the sender's) and one small
 * script that polls the panels and posts the forms. Recent deliveries with their traces (the journal),
 * the cases of the local Case Management (or links to the real ones), the dead-letter queue with a
 * replay button per entry (the same replay as `npm run replay`), and a form that signs and sends any
 * sample of test/fixtures/ as `npm run send` does.
 */

export interface ConsoleDeps {
  /** undefined: the bridge keeps no journal. */
  readonly journal: DeliveryJournal | undefined;
  readonly datadogTarget: DatadogTarget;
  /** The local Case Management's cases (with datadogTarget `local`). */
  readonly cases: () => LocalCasesListing['cases'];
  readonly deadLetters: DeadLetters | undefined;
  /** The same replay as `npm run replay` (POST /local/replay); undefined without a journal and archive. */
  readonly replay: ((request: ReplayRequest) => Promise<ReplayReport>) | undefined;
  /** Signs a sample with the secret and posts it to this bridge (`npm run send`). */
  readonly send: (source: string, sample: string) => Promise<{ readonly status: number; readonly text: string }>;
  /** Each source's samples (file stems in test/fixtures/<source>/). */
  readonly samples: readonly { readonly source: string; readonly samples: readonly string[] }[];
  readonly now?: () => number;
}

/** A console post that is not one (answered 400). */
class ConsoleRequestError extends BridgeError {}

/** The console's routes (beside LOCAL_CASES_ROUTE and the webhook routes of the bridge). */
export const CONSOLE_ROUTES = {
  page: '/',
  panels: '/local/console/panels',
  trace: '/deliveries/',
  replay: '/local/replay',
  send: '/local/send',
  deadLetterReplay: '/local/dead-letters/replay',
} as const;

/** How many deliveries the console lists (the newest); and how far back (ms). */
const LISTED = 50;
const LOOKBACK_MS = 7 * 86_400_000;
const POLL_MS = 1500;

/** HTML-escapes a value for text and for quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const time = (ms: number | undefined): string => (ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'));

/** The Datadog web app's host for an API base URL (`https://api.datadoghq.eu` -> `https://app.datadoghq.eu`). */
export function datadogAppUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  const site = url.hostname.replace(/^api\./, '');
  const host = /^(datadoghq\.com|datadoghq\.eu|ddog-gov\.com)$/.test(site) ? `app.${site}` : site;
  return `${url.protocol}//${host}`;
}

function caseLink(target: DatadogTarget, key: string | undefined): string {
  if (key === undefined) return '';
  if (target.kind === 'datadog') return `<a href="${esc(`${datadogAppUrl(target.url)}/cases/${encodeURIComponent(key)}`)}" rel="noreferrer" target="_blank">${esc(key)}</a>`;
  return `<span class="case">${esc(key)}</span>`;
}

const traceHref = (id: string): string => `${CONSOLE_ROUTES.trace}${encodeURIComponent(id)}`;

function statusBadge(status: string): string {
  const bad = (FAILED_STATUSES as readonly string[]).includes(status);
  return `<span class="status ${bad ? 'bad' : status === 'created' || status === 'updated' ? 'good' : ''}">${esc(status)}</span>`;
}

function deliveriesPanel(records: readonly DeliveryRecord[] | undefined, target: DatadogTarget): string {
  if (records === undefined) return '<section id="deliveries"><h2>Deliveries</h2><p>This bridge keeps no delivery journal.</p></section>';
  const rows = records.map((r) => {
    const cases = [...new Set(r.events.map((e) => e.caseKey).filter((k): k is string => k !== undefined))];
    return `<tr data-delivery="${esc(r.id)}"><td>${esc(time(r.receivedAt))}</td><td>${esc(r.source)}</td><td>${statusBadge(r.status)}</td><td>${esc(r.eventType ?? '')}</td><td>${esc(r.identities.join(', '))}</td><td>${cases.map((k) => caseLink(target, k)).join(' ')}</td><td>${r.replayOf !== undefined ? `replay of <a href="${esc(traceHref(r.replayOf))}">${esc(r.replayOf)}</a>` : ''}</td><td><a class="trace" href="${esc(traceHref(r.id))}">${esc(r.id)}</a></td></tr>`;
  });
  return `<section id="deliveries"><h2>Deliveries <small>(newest first, ${records.length})</small></h2>${
    rows.length === 0 ? '<p>No deliveries yet: send a sample below, or <code>npm run send -- alertmanager firing</code>.</p>' : `<table><thead><tr><th>received</th><th>source</th><th>status</th><th>event</th><th>identity</th><th>case</th><th></th><th>trace</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  }</section>`;
}

function casesPanel(deps: ConsoleDeps, records: readonly DeliveryRecord[] | undefined): string {
  const target = deps.datadogTarget;
  if (target.kind === 'dry_run') return `<section id="cases"><h2>Cases</h2><p>Dry run (${esc(target.reason)}): no cases are made.</p></section>`;
  if (target.kind === 'datadog') {
    const keys = [...new Set((records ?? []).flatMap((r) => r.events.map((e) => e.caseKey)).filter((k): k is string => k !== undefined))];
    return `<section id="cases"><h2>Cases <small>in Datadog (${esc(datadogAppUrl(target.url))})</small></h2>${keys.length === 0 ? '<p>No case named by a recent delivery.</p>' : `<ul>${keys.map((k) => `<li>${caseLink(target, k)}</li>`).join('')}</ul>`}</section>`;
  }
  const cases = deps.cases();
  const rows = cases.map((c) => `<tr data-case="${esc(c.key)}"><td>${esc(c.key)}</td><td>${esc(c.statusName ?? c.status ?? '')}</td><td>${esc(c.priority ?? '')}</td><td class="title">${esc(c.title ?? '')}</td><td>${c.comments.length}</td><td>${esc(c.statusChanges.join(' → '))}</td><td>${esc(c.successorOf ?? '')}</td></tr>`);
  return `<section id="cases"><h2>Cases <small>in the local Case Management (${esc(target.url)})</small></h2>${
    rows.length === 0 ? '<p>No cases yet.</p>' : `<table><thead><tr><th>key</th><th>status</th><th>priority</th><th>title</th><th>comments</th><th>status changes</th><th>succeeds</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  }</section>`;
}

function deadLettersPanel(entries: readonly DeadLetter[] | undefined, canReplay: boolean): string {
  if (entries === undefined) return '<section id="dead-letters"><h2>Dead-letter queue</h2><p>No dead-letter queue in this bridge.</p></section>';
  const rows = entries.map((d) => {
    const button = canReplay && d.journalId !== undefined ? `<button type="button" data-dlq="${esc(d.id)}">Replay</button>` : '<span title="the message names no journaled delivery: use npm run redrive">—</span>';
    return `<tr data-dead-letter="${esc(d.id)}"><td>${esc(time(d.enqueuedAt))}</td><td>${esc(d.source ?? '')}</td><td>${esc(d.kind ?? '')}</td><td>${esc(d.identity ?? '')}</td><td class="reason">${esc(d.reason)}</td><td>${d.journalId !== undefined ? `<a href="${esc(traceHref(d.journalId))}">${esc(d.journalId)}</a>` : ''}</td><td>${button}</td></tr>`;
  });
  return `<section id="dead-letters"><h2>Dead-letter queue <small>(${entries.length})</small></h2>${
    rows.length === 0 ? '<p>Empty.</p>' : `<table><thead><tr><th>dead-lettered</th><th>source</th><th>kind</th><th>alert</th><th>reason</th><th>delivery</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  }</section>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:1.5rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
.status{padding:0 .3rem;border-radius:3px;background:#eee}.good{background:#d7f5d7}.bad{background:#f8d4d4}small{color:#666;font-weight:normal}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:24rem}pre:empty{display:none}form{display:flex;gap:.5rem;align-items:center}code{background:#f2f2f2;padding:0 .2rem}`;

/** The one hand-written script: polls the panels, posts the send form and the replay buttons. Writes text with textContent only. */
const SCRIPT = `
const panels = document.getElementById('panels');
const out = document.getElementById('result');
const show = (title, value) => { out.textContent = title + '\\n' + (typeof value === 'string' ? value : JSON.stringify(value, null, 2)); };
async function post(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  let json; try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, json };
}
let last = '';
async function refresh() {
  try {
    const res = await fetch('${CONSOLE_ROUTES.panels}', { cache: 'no-store' });
    const html = await res.text();
    if (html !== last) { last = html; panels.innerHTML = html; }
  } catch { /* the bridge is restarting: try again at the next tick */ }
}
// The trace page has no panels to keep up to date.
if (!panels.hidden) setInterval(refresh, ${POLL_MS});
document.addEventListener('click', async (e) => {
  const button = e.target.closest('button[data-dlq], button[data-replay]');
  if (!button) return;
  button.disabled = true;
  if (button.dataset.dlq !== undefined) {
    const r = await post('${CONSOLE_ROUTES.deadLetterReplay}', { id: button.dataset.dlq });
    show('replay of dead-lettered entry: ' + r.status, r.json);
  } else {
    const apply = button.dataset.apply === 'true';
    const r = await post('${CONSOLE_ROUTES.replay}', { ids: [button.dataset.replay], apply });
    show((apply ? 'replay: ' : 'replay preview (nothing changed): ') + r.status, r.json);
    button.disabled = false;
  }
  refresh();
});
const form = document.getElementById('send');
if (form) form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const [source, sample] = form.elements.sample.value.split('/');
  const r = await post('${CONSOLE_ROUTES.send}', { source, sample });
  show('POST /webhooks/' + source + ' (' + sample + ') -> ' + r.status, r.json);
  refresh();
});
`;

/** A page and the nonce its one script runs under (the content security policy allows no other script). */
interface Page {
  readonly text: string;
  readonly nonce: string;
}

function page(title: string, body: string, script: boolean): Page {
  const nonce = randomBytes(16).toString('base64');
  return { nonce, text: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><meta name="viewport" content="width=device-width"><style nonce="${nonce}">${STYLE}</style></head><body>${body}${script ? `<script nonce="${nonce}">${SCRIPT}</script>` : ''}</body></html>` };
}

function targetLine(target: DatadogTarget): string {
  switch (target.kind) {
    case 'local':
      return `Datadog: the LOCAL Case Management ${esc(target.url)}`;
    case 'datadog':
      return `Datadog: ${esc(target.url)}`;
    case 'dry_run':
      return `Datadog: none, DRY RUN (${esc(target.reason)})`;
  }
}

function tracePage(record: DeliveryRecord, target: DatadogTarget, canReplay: boolean): Page {
  const events = record.events.map((e, i) => {
    const actions = e.actions.map((a) => `<li>${esc(a.kind)}${a.purpose !== undefined ? ` (${esc(a.purpose)})` : ''}: <b>${esc(a.outcome)}</b>${a.caseKey !== undefined ? ` ${caseLink(target, a.caseKey)}` : ''}${a.detail !== undefined ? ` — ${esc(a.detail)}` : ''}${a.retryInSeconds !== undefined ? ` (retry in ${esc(a.retryInSeconds)} s)` : ''}${a.reason !== undefined ? ` — ${esc(a.reason)}` : ''}${a.later === true ? ' <small>(later)</small>' : ''}</li>`);
    return `<li class="event"><b>event ${i + 1}</b>: ${esc(e.type)} · identity <code>${esc(e.dedupIdentity ?? e.identity)}</code> · ${esc(e.signal)}<br>rule: ${e.rule !== undefined ? `<code>${esc(e.rule)}</code>` : `none (${esc(e.noRule ?? '')})`}<br>outcome: ${statusBadge(e.outcome)}${e.reason !== undefined ? ` (${esc(e.reason)})` : ''} ${caseLink(target, e.caseKey)}${actions.length > 0 ? `<ul>${actions.join('')}</ul>` : ''}</li>`;
  });
  const followUps = (record.followUps ?? []).map((a) => `<li>${esc(a.kind)}: <b>${esc(a.outcome)}</b> ${caseLink(target, a.caseKey)} ${esc(a.reason ?? '')} <small>${esc(time(a.at))}</small></li>`);
  const rows: [string, string][] = [
    ['delivery', `<code id="delivery-id">${esc(record.id)}</code>`],
    ['source', esc(record.source)],
    ['received', esc(time(record.receivedAt))],
    ['status', statusBadge(record.status)],
    ['answer', `${esc(record.answer.status)} ${esc(record.answer.code)}`],
    ['verified', record.verified ? 'yes' : `no (${esc(record.why ?? '')})`],
    ['sender delivery id', esc(record.senderDeliveryId ?? '')],
    ['archive', esc(record.archiveKey ?? record.archiveError ?? 'not archived')],
    ['timings', `${esc(record.timings.totalMs)} ms${record.timings.workMs !== undefined ? ` (rules, ledger and Datadog: ${esc(record.timings.workMs)} ms)` : ''}`],
  ];
  if (record.replayOf !== undefined) rows.push(['replay of', `<a href="${esc(traceHref(record.replayOf))}">${esc(record.replayOf)}</a>`]);
  const buttons = canReplay && record.verified && record.archiveKey !== undefined
    ? `<p><button type="button" data-replay="${esc(record.id)}" data-apply="false">Preview replay</button> <button type="button" data-replay="${esc(record.id)}" data-apply="true">Replay through the current rules</button></p>`
    : '';
  const body = `<p><a href="/">← console</a></p><h1>Delivery ${esc(record.id)}</h1><table id="trace">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</table>
<h2>Events</h2>${events.length === 0 ? '<p>No events (refused, or a ping).</p>' : `<ol id="events">${events.join('')}</ol>`}
${followUps.length > 0 ? `<h2>Finished later</h2><ul>${followUps.join('')}</ul>` : ''}${buttons}<pre id="result"></pre><div id="panels" hidden></div>
<h2>Record</h2><pre>${esc(JSON.stringify(record, null, 2))}</pre>`;
  return page(`case-bridge delivery ${record.id}`, body, true);
}

const SendBody = z.object({ source: z.string().check(z.regex(/^[a-z0-9-]{1,32}$/)), sample: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,80}$/)) });
const DeadLetterBody = z.object({ id: z.string().check(z.minLength(1), z.maxLength(200)) });

/** The most bytes a console form posts. */
const MAX_FORM_BYTES = 64 * 1024;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new ConsoleRequestError('body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (cause) {
    throw new ConsoleRequestError('the body is not JSON', { cause });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function html(res: ServerResponse, status: number, content: Page | string): void {
  // A fragment (the panels) runs no script: its policy allows none.
  const { text, nonce } = typeof content === 'string' ? { text: content, nonce: undefined } : content;
  const scripts = nonce === undefined ? "'none'" : `'nonce-${nonce}'`;
  res
    .writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': `default-src 'none'; script-src ${scripts}; style-src ${scripts}; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    })
    .end(text);
}

/**
 * A write from this console only: JSON (a cross-site form cannot send it without a preflight this
 * server never grants), addressed to 127.0.0.1 or localhost (no DNS rebinding), from this origin.
 */
function fromConsole(req: IncomingMessage): boolean {
  const host = req.headers.host ?? '';
  if (!/^(127\.0\.0\.1|localhost)(:\d+)?$/.test(host)) return false;
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return false;
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://${host}`;
}

export interface Console {
  /** Answers the console's routes; false for any other (the bridge's own routes). */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
}

export function createConsole(deps: ConsoleDeps): Console {
  const now = deps.now ?? Date.now;

  async function recent(): Promise<DeliveryRecord[] | undefined> {
    return deps.journal?.list({ since: now() - LOOKBACK_MS, until: now() + 60_000, limit: LISTED });
  }

  async function panels(): Promise<string> {
    const [records, dead] = await Promise.all([recent(), deps.deadLetters?.list(50)]);
    return `${deliveriesPanel(records, deps.datadogTarget)}${casesPanel(deps, records)}${deadLettersPanel(dead, deps.replay !== undefined)}`;
  }

  async function indexPage(): Promise<Page> {
    const options = deps.samples.flatMap(({ source, samples }) => samples.map((s) => `<option value="${esc(`${source}/${s}`)}">${esc(`${source} ${s}`)}</option>`));
    const body = `<h1>case-bridge console</h1><p>${targetLine(deps.datadogTarget)} · local only (127.0.0.1), never deployed · updates every ${POLL_MS / 1000} s</p>
<h2>Send a sample</h2><form id="send"><label>sample <select name="sample">${options.join('')}</select></label><button type="submit">Sign and send</button></form>
<pre id="result" aria-live="polite"></pre><div id="panels">${await panels()}</div>`;
    return page('case-bridge console', body, true);
  }

  async function replayDeadLetter(id: string): Promise<{ status: number; body: unknown }> {
    if (deps.deadLetters === undefined || deps.replay === undefined) return { status: 404, body: { error: 'not_found', message: 'this bridge has no dead-letter queue or no journal' } };
    const entry = (await deps.deadLetters.list(1000)).find((d) => d.id === id);
    if (entry === undefined) return { status: 404, body: { error: 'not_found', message: 'no such dead-lettered entry (replayed or redriven already?)' } };
    if (entry.journalId === undefined) return { status: 409, body: { error: 'not_replayable', message: 'the entry names no journaled delivery: redrive it (npm run redrive)' } };
    const report = await deps.replay({ ids: [entry.journalId], apply: true });
    const item = report.items[0];
    // Done by the replay (not dead-lettered or failed again): the entry's work is in the replay's record now.
    const done = item?.result === 'replayed' && item.status !== undefined && !(FAILED_STATUSES as readonly string[]).includes(item.status);
    const removed = done ? await deps.deadLetters.remove(id) : false;
    return { status: 200, body: { ...report, removed } };
  }

  return {
    async handle(req, res, path) {
      if (req.method === 'GET' && path === CONSOLE_ROUTES.page) {
        html(res, 200, await indexPage());
        return true;
      }
      if (req.method === 'GET' && path === CONSOLE_ROUTES.panels) {
        html(res, 200, await panels());
        return true;
      }
      if (req.method === 'GET' && path.startsWith(CONSOLE_ROUTES.trace)) {
        const id = decodeURIComponent(path.slice(CONSOLE_ROUTES.trace.length));
        const record = await deps.journal?.get(id);
        if (record === undefined) html(res, 404, page('not found', `<p><a href="/">← console</a></p><p>No delivery <code>${esc(id)}</code> in the journal.</p>`, false));
        else html(res, 200, tracePage(record, deps.datadogTarget, deps.replay !== undefined));
        return true;
      }
      const post = req.method === 'POST' && (path === CONSOLE_ROUTES.replay || path === CONSOLE_ROUTES.send || path === CONSOLE_ROUTES.deadLetterReplay);
      if (!post) return false;
      if (!fromConsole(req)) {
        req.resume();
        json(res, 403, { error: 'forbidden', message: 'console writes are JSON from the console itself, on 127.0.0.1' });
        return true;
      }
      try {
        const body = await readJson(req);
        if (path === CONSOLE_ROUTES.replay) {
          if (deps.replay === undefined) json(res, 404, { error: 'not_found', message: 'this bridge keeps no journal and archive to replay from' });
          else json(res, 200, await deps.replay(parseReplayRequest(body)));
        } else if (path === CONSOLE_ROUTES.send) {
          const parsed = SendBody.safeParse(body);
          if (!parsed.success) throw new ConsoleRequestError('send needs { source, sample }');
          // An unknown source or sample, or one npm run send cannot sign (SNS): the sender's mistake, 400.
          const sent = await deps.send(parsed.data.source, parsed.data.sample).catch((error: unknown) => {
            throw new ConsoleRequestError(error instanceof Error ? error.message : String(error), { cause: error });
          });
          let answer: unknown = sent.text;
          try {
            answer = JSON.parse(sent.text);
          } catch {
            // not JSON: shown as text
          }
          json(res, 200, { status: sent.status, answer });
        } else {
          const parsed = DeadLetterBody.safeParse(body);
          if (!parsed.success) throw new ConsoleRequestError('needs { id } of a dead-lettered entry');
          const result = await replayDeadLetter(parsed.data.id);
          json(res, result.status, result.body);
        }
      } catch (error) {
        if (error instanceof ReplayRequestError || error instanceof ConsoleRequestError) json(res, 400, { error: 'bad_request', message: error.message });
        else json(res, 500, { error: 'internal_error', message: error instanceof Error ? error.message : String(error) });
      }
      return true;
    },
  };
}
