import type { CreatedCase } from '../datadog/client.js';
import type { DecisionReason } from '../lifecycle/decide.js';
import type { OpenAfter } from '../lifecycle/threshold.js';

/**
 * What became of one event (ingest) or one queued action (retry): the one outcome type, from the
 * Datadog call to the HTTP answer (lambda/ingest/answer.ts) and the retry record's log line.
 * Each delivery function returns the part of it that it can produce (Extract<Outcome, ...>).
 */
export type Outcome =
  /** The case was created (or found by its dedup marker). `reason`: the lifecycle's, when it decided. */
  | { readonly status: 'created'; readonly case: CreatedCase; readonly reason?: DecisionReason }
  /** Handed to the retry queue; tried again after `retryInSeconds`. */
  | { readonly status: 'queued'; readonly retryInSeconds: number; readonly reason: string }
  /** Given up until an operator redrives it. `ambiguous`: a create whose last attempt may have reached Datadog. */
  | { readonly status: 'dead_lettered'; readonly reason: string; readonly ambiguous?: true }
  /** One comment or status change sent (a queued update). */
  | { readonly status: 'sent' }
  /** Comment / close / reopen done, or queued: `queued` lists those left to the retry queue. */
  | { readonly status: 'updated'; readonly reason: DecisionReason; readonly caseId: string; readonly caseKey: string | undefined; readonly queued: readonly string[] }
  /** Nothing sent to Datadog: a repeat coalesced, a create in flight, already closed, won't-fix... */
  | { readonly status: 'deduplicated'; readonly reason: DecisionReason; readonly caseId: string | undefined; readonly caseKey: string | undefined }
  /**
   * No case yet (issue 17): a firing counted below its rule's occurrence threshold (`counted`;
   * `occurrences`: the firings counting now, this one included), or a resolve that reset that count
   * (`reset`, 0). `openAfter`: the threshold, when the policy is known.
   */
  | { readonly status: 'below_threshold'; readonly reason: 'counted' | 'reset'; readonly occurrences: number; readonly openAfter: OpenAfter | undefined }
  /** The work no longer applies (the case was deleted, another delivery holds the alert): nothing sent. */
  | { readonly status: 'dropped'; readonly reason: string };

export type OutcomeOf<S extends Outcome['status']> = Extract<Outcome, { readonly status: S }>;
