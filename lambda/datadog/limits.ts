// Lengths the bridge cuts case fields to: imported by the mapping and by the ledger's marker (the
// retry function uses the latter without the mapping, and so without JSONata).

/** Titles are cut here (Datadog shows about this much; the full text stays in the description). */
export const MAX_TITLE_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 20_000;
