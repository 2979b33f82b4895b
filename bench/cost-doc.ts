/**
 * `npm run bench -- --write-cost-doc`: the counted table of docs/cost.md, rewritten from this run (the
 * default archive mode), and this run's row of the archive modes' table (every mode, `--archive=`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIX, mixPrice, price, type Kind, type MixResult, type Prices } from './cost.js';
import { ROOT } from './options.js';
import { costTable } from './report.js';

const BEGIN = '<!-- bench:cost:begin (npm run bench -- --write-cost-doc rewrites this part) -->';
const END = '<!-- bench:cost:end -->';

const ARCHIVE_BEGIN = '<!-- bench:archive:begin (npm run bench -- --write-cost-doc [--archive=failed|off] rewrites its row) -->';
const ARCHIVE_END = '<!-- bench:archive:end -->';
const ARCHIVE_HEADER = ['`-c archive=`', 'S3 PUTs per webhook of the mix', '$ / M: S3 PUT requests (mix)', 'the mix, $ per million webhooks'];
const ARCHIVE_ORDER = ['`all` (default)', '`failed`', '`off`'];

/** The archive modes' table with this run's row replaced (the others as the last runs of their modes left them). */
function archiveRows(doc: string, mix: MixResult, prices: Prices): string | undefined {
  const from = doc.indexOf(ARCHIVE_BEGIN);
  const to = doc.indexOf(ARCHIVE_END);
  if (from === -1 || to < from) return undefined;
  const kinds = Object.keys(MIX) as Kind[];
  const puts = kinds.reduce((a, k) => a + (MIX[k] * mix.perKind[k].s3Put) / mix.perKind[k].webhooks, 0);
  const putUsd = kinds.reduce((a, k) => a + MIX[k] * (price(mix.perKind[k], prices).lines.find((l) => l.item === 'S3 PUT requests')?.usdPerMillion ?? 0), 0);
  const label = ARCHIVE_ORDER.find((l) => l.startsWith(`\`${mix.archive}\``))!;
  const rows = new Map<string, string>();
  for (const line of doc.slice(from, to).split('\n')) {
    const first = /^\| (`[a-z]+`(?: \(default\))?) \|/.exec(line)?.[1];
    if (first !== undefined && ARCHIVE_ORDER.includes(first)) rows.set(first, line);
  }
  rows.set(label, `| ${label} | ${puts.toFixed(2)} | $${putUsd.toFixed(2)} | **$${mixPrice(mix.perKind, prices).toFixed(2)}** |`);
  return [ARCHIVE_BEGIN, '', `| ${ARCHIVE_HEADER.join(' | ')} |`, `| --- |${ARCHIVE_HEADER.slice(1).map(() => ' ---: |').join('')}`, ...ARCHIVE_ORDER.flatMap((l) => rows.get(l) ?? []), '', ARCHIVE_END].join('\n');
}

export function writeCostDoc(mix: MixResult, prices: Prices): string {
  const file = join(ROOT, 'docs/cost.md');
  let doc = readFileSync(file, 'utf8');
  const archive = archiveRows(doc, mix, prices);
  if (archive !== undefined) doc = doc.slice(0, doc.indexOf(ARCHIVE_BEGIN)) + archive + doc.slice(doc.indexOf(ARCHIVE_END) + ARCHIVE_END.length);
  if (mix.archive !== 'all') {
    writeFileSync(file, doc);
    return archive === undefined ? `no ${ARCHIVE_BEGIN} … ${ARCHIVE_END} section: not rewritten` : `the archive table's ${mix.archive} row rewritten ($${mixPrice(mix.perKind, prices).toFixed(2)} per million webhooks)`;
  }
  const from = doc.indexOf(BEGIN);
  const to = doc.indexOf(END);
  if (from === -1 || to < from) return `no ${BEGIN} … ${END} section: not rewritten`;
  const rows = costTable(mix, prices);
  const md = [
    `| ${rows[0]!.join(' | ')} |`,
    `| --- |${rows[0]!.slice(1).map(() => ' ---: |').join('')}`,
    ...rows.slice(1).map((r) => `| ${r.map((c) => c.replace(/^ +/, '… ')).join(' | ')} |`),
  ];
  const total = mixPrice(mix.perKind, prices);
  const generated = [
    BEGIN,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} (Node ${process.version}, ${mix.perKind.first.webhooks} webhooks of each kind). The mix (${Object.entries(MIX).map(([k, w]) => `${k} ${(w * 100).toFixed(0)}%`).join(', ')}): **$${total.toFixed(2)} per million webhooks**.`,
    '',
    ...md,
    '',
    END,
  ].join('\n');
  writeFileSync(file, doc.slice(0, from) + generated + doc.slice(to + END.length));
  return `rewritten ($${total.toFixed(2)} per million webhooks)`;
}
