/**
 * Advisory lock between changes (shared, from their engine write to their
 * commit) and the reconciler (exclusive), so a reconcile sees each change
 * either wholly before or wholly after it (R-G1, R-G3).
 */
export const ENGINE_SYNC_LOCK = 0x617a_7379;
