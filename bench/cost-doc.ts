/** `npm run bench -- --write-cost-doc`: the counted table of docs/cost.md, rewritten from this run. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIX, mixPrice, type MixResult, type Prices } from './cost.js';
import { ROOT } from './options.js';
import { costTable } from './report.js';

const BEGIN = '<!-- bench:cost:begin (npm run bench -- --write-cost-doc rewrites this part) -->';
const END = '<!-- bench:cost:end -->';

export function writeCostDoc(mix: MixResult, prices: Prices): string {
  const file = join(ROOT, 'docs/cost.md');
  const doc = readFileSync(file, 'utf8');
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
