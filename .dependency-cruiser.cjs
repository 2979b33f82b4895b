// The import rules of the code (`npm run lint:imports`, part of `npm test`): a house with one-way floors.
// Each folder imports only from its own floor's allowed neighbours and the floors below it; see the
// README's "Architecture" section for what each folder holds.
//
//   lib/, bin/, scripts/, bench/       (deployment, operator scripts, measurements)
//   lambda/ingest/, retry/, local/     (entry points: Lambda handlers, the local bridge)
//   lambda/delivery/                   (the one place that talks to Datadog for the bridge; the queue contract)
//   lambda/mapping/, lambda/lifecycle/ (pure: rules -> case requests; ledger entry x event -> decision)
//   lambda/ledger/, lambda/journal/    (the dedup ledger; the delivery journal and raw archive)
//   lambda/datadog/, lambda/sources/   (the Datadog API client; the webhook senders)
//   lambda/shared/                     (errors, env, contract, zod, time, log, metrics, secrets: no domain types)

/** Bottom to top. */
const FLOORS = [['shared'], ['datadog', 'sources'], ['ledger', 'journal'], ['mapping', 'lifecycle'], ['delivery'], ['ingest', 'retry', 'local']];
const ALL = FLOORS.flat();

const folders = (names) => `^lambda/(${names.join('|')})/`;

const upward = FLOORS.slice(0, -1).map((floor, i) => ({
  name: `floor-${floor.join('-')}`,
  comment: `lambda/${floor.join('/, lambda/')}/ import only from the floors below them`,
  severity: 'error',
  from: { path: folders(floor) },
  to: { path: folders(FLOORS.slice(i + 1).flat()) },
}));

/** Folders on one floor that must not import each other (in the direction given). */
const sideways = [
  ['datadog', 'sources'],
  ['sources', 'datadog'],
  ['lifecycle', 'mapping'],
  ['ingest', 'retry'],
  ['retry', 'ingest'],
  ['ingest', 'local'],
  ['retry', 'local'],
  ['ledger', 'journal'],
  ['journal', 'ledger'],
].map(([from, to]) => ({
  name: `${from}-not-${to}`,
  comment: `lambda/${from}/ does not import lambda/${to}/ (same floor, one direction only)`,
  severity: 'error',
  from: { path: folders([from]) },
  to: { path: folders([to]) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...upward,
    ...sideways,
    {
      name: 'lambda-in-a-floor',
      comment: `every file under lambda/ lives in one of the floor folders (${ALL.join(', ')}): add a new folder to FLOORS`,
      severity: 'error',
      from: { path: '^lambda/', pathNot: folders(ALL) },
      to: {},
    },
    {
      name: 'lambda-not-above',
      comment: 'the functions never import the stack, the CLI, scripts, the bench or the tests',
      severity: 'error',
      from: { path: '^lambda/' },
      to: { path: '^(lib|bin|scripts|bench|test)/' },
    },
    {
      name: 'lambda-no-dev-dependencies',
      comment: 'the functions run only what package.json ships (dependencies): a devDependency (e.g. Powertools, kept as the reference of test/shared/powertools-reference.test.ts) never reaches a bundle; type-only imports are erased',
      severity: 'error',
      from: { path: '^lambda/', pathNot: '^lambda/local/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'lib-not-above',
      comment: 'the stack (lib/) does not import bin/, scripts/, the bench or the tests',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(bin|scripts|bench|test)/' },
    },
    {
      name: 'bin-scripts-no-tests',
      comment: 'bin/ and scripts/ do not import the tests or the bench',
      severity: 'error',
      from: { path: '^(bin|scripts)/' },
      to: { path: '^(bench|test)/' },
    },
    {
      name: 'no-circular',
      comment: 'no import cycle between modules',
      severity: 'error',
      from: { path: '^(lambda|lib|bin|scripts|bench)/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'every import resolves (a moved file left an import behind)',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a type from a floor above is a dependency on it too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
