import { hash } from 'node:crypto';
import type { CaseCreateRequest } from '../datadog/schema.js';
import { MAX_DESCRIPTION_LENGTH } from '../datadog/limits.js';

const PREFIX = 'casebridge';

/**
 * The dedup marker of an alert's case: `casebridge` + 24 hex digits of
 * sha256(source, identity, generation). Stable for one alert (and one case generation: a new case
 * after the reopen window gets generation + 1, so a search never finds the older, closed case).
 *
 * It is one alphanumeric token on purpose: Datadog's case search splits words on `:`/`-`/`_` and
 * reads `a:b` as a facet, so a token without punctuation is found by a plain `filter=<marker>`.
 */
export function dedupMarker(source: string, identity: string, generation = 0): string {
  const data = `${source}\n${identity}\n${generation}`;
  // crypto.hash (Node >= 20.12; package.json asks for 20.19) is the one-shot form: a third of createHash's cost for a short input.
  return `${PREFIX}${hash('sha256', data, 'hex').slice(0, 24)}`;
}

/** True for a string produced by dedupMarker. */
export function isDedupMarker(text: string): boolean {
  return /^casebridge[0-9a-f]{24}$/.test(text);
}

/** The footer line put in every case description. */
export function markerFooter(marker: string): string {
  return `case-bridge dedup marker: ${marker}`;
}

/** The description with the marker footer appended (once), cut so the total stays within `maxLength`. */
export function withMarker(description: string | undefined, marker: string, maxLength: number = MAX_DESCRIPTION_LENGTH): string {
  const footer = markerFooter(marker);
  const text = description ?? '';
  // The footer is always last: checking the end is enough (and does not scan a long description).
  if (text.endsWith(footer)) return text;
  if (text === '') return footer;
  const room = maxLength - footer.length - 2;
  let body = text;
  if (body.length > room) {
    let end = Math.max(0, room - 1);
    const last = body.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end -= 1;
    body = `${body.slice(0, end).trimEnd()}…`;
  }
  return `${body}\n\n${footer}`;
}

/**
 * The create request marked with its dedup identity (issue 4): the footer line in the description,
 * always, and the marker as the value of the custom attribute `attribute` when one is configured
 * (lifecycle `marker_attribute`; a single-valued TEXT attribute of the case type).
 */
export function markRequest(request: CaseCreateRequest, marker: string, options: { readonly attribute?: string | undefined } = {}): CaseCreateRequest {
  const attributes = request.data.attributes;
  const marked = { ...attributes, description: withMarker(attributes.description, marker) };
  if (options.attribute !== undefined) {
    marked.custom_attributes = { ...attributes.custom_attributes, [options.attribute]: { type: 'TEXT', is_multi: false, value: marker } };
  }
  return { ...request, data: { ...request.data, attributes: marked } };
}

/**
 * A request marked with `from`, marked with `to` instead (a redrive that claimed the next
 * generation): the footer line replaced, and every custom attribute whose value is `from`.
 */
export function remarkRequest(request: CaseCreateRequest, from: string, to: string): CaseCreateRequest {
  const attributes = request.data.attributes;
  const oldFooter = markerFooter(from);
  const description = attributes.description?.endsWith(oldFooter) ? `${attributes.description.slice(0, -oldFooter.length)}${markerFooter(to)}` : withMarker(attributes.description, to);
  const remarked = { ...attributes, description };
  if (attributes.custom_attributes !== undefined) {
    remarked.custom_attributes = Object.fromEntries(Object.entries(attributes.custom_attributes).map(([key, attribute]) => [key, attribute.value === from ? { ...attribute, value: to } : attribute]));
  }
  return { ...request, data: { ...request.data, attributes: remarked } };
}
