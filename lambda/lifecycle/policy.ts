import * as z from '../shared/zod.js';

/** Status names (or statuses) a human closes a case with to say "do not bring this back". Compared case-insensitively. */
export const DEFAULT_NEVER_REOPEN_STATUSES = ["Won't fix", "Won't do", 'Cancelled', 'Declined', 'Duplicate'] as const;

export const LIFECYCLE_DEFAULTS = {
  comment_interval_seconds: 900,
  on_resolve: 'close',
  reopen_window_seconds: 86_400,
  never_reopen_statuses: DEFAULT_NEVER_REOPEN_STATUSES,
  on_informational: 'ignore',
  on_note: 'comment',
  create_intent_timeout_seconds: 3_600,
  verify_case_status: true,
  close_status: 'CLOSED',
  reopen_status: 'OPEN',
} as const;

/**
 * The lifecycle schemas, built on first use: `overrides` (each key optional: what a source's or a
 * rule's `lifecycle:` block may set) and `policy` (the full policy with defaults; strict: an unknown
 * key is an error). The Lambda entries use rules validated at synth and build them only when a
 * source sets lifecycle options.
 */
export const lifecycleSchemas = z.lazily(() => {
  const Seconds = z.int().check(z.nonnegative());
  const MarkerAttributeKey = z.string().check(z.minLength(1));
  /** Issue 17: the case is created only once the alert fired `occurrences` times within `within_seconds` (README, Lifecycle). */
  const OCCURRENCES = 'must be a whole number from 1 to 1000 (1: open on the first firing)';
  const WITHIN = 'must be a whole number of seconds above 0, at most 86400 (a day)';
  const OpenAfter = z.strictObject({
    occurrences: z.int({ error: OCCURRENCES }).check(z.gte(1, OCCURRENCES), z.lte(1000, OCCURRENCES)),
    within_seconds: z.int({ error: WITHIN }).check(z.gt(0, WITHIN), z.lte(86_400, WITHIN)),
  });

  const overrides = z.strictObject({
    /** At most one "fired again" comment per this many seconds; occurrences in between are counted and reported together. */
    comment_interval_seconds: z.optional(Seconds),
    /** On a resolve signal: comment then close the case, only comment, or do nothing. */
    on_resolve: z.optional(z.enum(['close', 'comment', 'ignore'])),
    /** Firing again within this many seconds of the close reopens the case; later, a new case is created. 0: always a new case. */
    reopen_window_seconds: z.optional(Seconds),
    /** A case closed with one of these status names (case-insensitive) is never reopened. */
    never_reopen_statuses: z.optional(z.array(z.string().check(z.minLength(1)))),
    /** Informational events (acknowledged, notes...): ignored, or a comment (coalesced like repeats). */
    on_informational: z.optional(z.enum(['ignore', 'comment'])),
    /**
     * A human's note (PagerDuty incident.annotated, Opsgenie AddNote, a GitHub issue comment, a Sentry
     * issue comment): its own comment on the alert's case, with author and link, posted once per note
     * (never coalesced); `ignore`: an informational event like any other (`on_informational`).
     */
    on_note: z.optional(z.enum(['comment', 'ignore'])),
    /** A `creating` intent older than this is presumed orphaned (process died): the next firing looks the case up by marker, then creates. */
    create_intent_timeout_seconds: z.optional(z.int().check(z.gte(60))),
    /** Read the case from Datadog before commenting, closing or reopening (a human may have closed it). */
    verify_case_status: z.optional(z.boolean()),
    /** Status set on close: the `status` enum value `CLOSED` (every case type) or a status name of the case type. */
    close_status: z.optional(z.string().check(z.minLength(1))),
    /** Status set on reopen. */
    reopen_status: z.optional(z.string().check(z.minLength(1))),
    /**
     * Key of a single-valued TEXT custom attribute of the case type: each new case also carries its
     * dedup marker there (the description footer is always written). @default none
     */
    marker_attribute: z.optional(MarkerAttributeKey),
    /**
     * Open a case only once the alert fired `occurrences` times within `within_seconds` (counted per
     * delivery, in the ledger); until then a firing is answered 202 below_threshold. @default none
     */
    open_after: z.optional(OpenAfter),
  });

  /** The full policy with defaults (strict: an unknown key is an error). */
  const policy = z.strictObject({
    comment_interval_seconds: z._default(Seconds, LIFECYCLE_DEFAULTS.comment_interval_seconds),
    on_resolve: z._default(z.enum(['close', 'comment', 'ignore']), LIFECYCLE_DEFAULTS.on_resolve),
    reopen_window_seconds: z._default(Seconds, LIFECYCLE_DEFAULTS.reopen_window_seconds),
    never_reopen_statuses: z._default(z.readonly(z.array(z.string().check(z.minLength(1)))), () => [...DEFAULT_NEVER_REOPEN_STATUSES]),
    on_informational: z._default(z.enum(['ignore', 'comment']), LIFECYCLE_DEFAULTS.on_informational),
    on_note: z._default(z.enum(['comment', 'ignore']), LIFECYCLE_DEFAULTS.on_note),
    create_intent_timeout_seconds: z._default(z.int().check(z.gte(60)), LIFECYCLE_DEFAULTS.create_intent_timeout_seconds),
    verify_case_status: z._default(z.boolean(), LIFECYCLE_DEFAULTS.verify_case_status),
    close_status: z._default(z.string().check(z.minLength(1)), LIFECYCLE_DEFAULTS.close_status),
    reopen_status: z._default(z.string().check(z.minLength(1)), LIFECYCLE_DEFAULTS.reopen_status),
    marker_attribute: z.optional(MarkerAttributeKey),
    open_after: z.optional(OpenAfter),
  });
  return { overrides, policy };
});
type LifecycleSchemas = ReturnType<typeof lifecycleSchemas>;
export type LifecycleOverrides = z.infer<LifecycleSchemas['overrides']>;
type ParsedPolicy = z.infer<LifecycleSchemas['policy']>;
/** A resolved policy: read only (DEFAULT_LIFECYCLE_POLICY is frozen and shared by every source). */
export type LifecyclePolicy = Readonly<Omit<ParsedPolicy, 'never_reopen_statuses'>> & { readonly never_reopen_statuses: readonly string[] };

/** `lifecycleSchemas().policy.parse({})`, written out so that loading this module builds no schema (a test compares the two). */
export const DEFAULT_LIFECYCLE_POLICY: LifecyclePolicy = Object.freeze({ ...LIFECYCLE_DEFAULTS, never_reopen_statuses: Object.freeze([...DEFAULT_NEVER_REOPEN_STATUSES]) });

/** Defaults <- rules-file defaults <- source <- rule: later layers win key by key. */
export function resolvePolicy(...layers: (LifecycleOverrides | undefined)[]): LifecyclePolicy {
  const merged: Record<string, unknown> = {};
  let any = false;
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      merged[k] = v;
      any = true;
    }
  }
  return any ? lifecycleSchemas().policy.parse(merged) : DEFAULT_LIFECYCLE_POLICY;
}

function normalizeStatus(text: string): string {
  return text.trim().toLowerCase().replace(/[\u2018\u2019`]/g, "'").replace(/\s+/g, ' ');
}

/** True when a case closed with this status must never be reopened. */
export function isNeverReopenStatus(policy: LifecyclePolicy, status: string | undefined): boolean {
  if (status === undefined) return false;
  const s = normalizeStatus(status);
  return policy.never_reopen_statuses.some((x) => normalizeStatus(x) === s);
}
