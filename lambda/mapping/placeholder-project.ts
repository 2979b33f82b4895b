import type { RulesFile } from './rules-schema.js';

/** The project UUID config/rules.yaml ships with: a stand-in, not a Case Management project. */
export const PLACEHOLDER_PROJECT = '00000000-0000-0000-0000-000000000000';

/**
 * Where the rules set the placeholder project for at least one rule that creates cases (`defaults.project`,
 * `sources.<source>.defaults.project` or a rule's `case.project`): each rule's own value wins over its
 * source's defaults, which win over the file's.
 */
export function placeholderProjectPaths(file: RulesFile): string[] {
  const paths = new Set<string>();
  for (const [source, block] of Object.entries(file.sources)) {
    if (block === undefined) continue;
    block.rules.forEach((rule, i) => {
      if (rule.action !== 'create') return;
      const [path, project] =
        rule.case?.project !== undefined
          ? [`sources.${source}.rules[${i}].case.project`, rule.case.project]
          : block.defaults?.project !== undefined
            ? [`sources.${source}.defaults.project`, block.defaults.project]
            : ['defaults.project', file.defaults?.project];
      if (project?.trim() === PLACEHOLDER_PROJECT) paths.add(path);
    });
  }
  return [...paths];
}

/** The warning for `cdk synth` and `npm start` with real keys, or undefined when every rule names a real project. */
export function placeholderProjectWarning(file: RulesFile, origin: string): string | undefined {
  const paths = placeholderProjectPaths(file);
  if (paths.length === 0) return undefined;
  return (
    `${origin} files cases under the placeholder project ${PLACEHOLDER_PROJECT} (${paths.join(', ')}): ` +
    "it is not a real project, so Datadog will refuse those cases and they will end in the dead-letter queue. " +
    "Set it to your Case Management project's UUID (Datadog: Cases > Settings > Projects)."
  );
}
