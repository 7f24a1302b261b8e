-- The engine revision (decision cache fence, R-G1). Advanced with nextval()
-- after every engine write (changes, journal recovery, reconcile repairs,
-- compensations), before the change commits. A sequence, not a row: it never
-- serialises changes, and its value is visible to every session at once.
-- A cached decision computed after reading revision r is served to a request
-- only while the revision read after that request arrived is still <= r
-- (src/decisions/cache.ts, bench/README.md "Why the cache is never stale").
create sequence engine_revision as bigint cache 1;

-- The next cooperation expiry bounds every cached allow (not_expired).
create index cooperations_active_expiry_idx on cooperations (expires_at)
  where state = 'active' and expires_at is not null;
