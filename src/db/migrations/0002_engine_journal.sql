-- Write-ahead record of engine writes in flight (R-G3). A change inserts its
-- tuple keys here, committed on a separate connection, before it writes to the
-- engine, and deletes the row after its own commit. A row left behind (the
-- process died, or the engine or the commit failed) names the only tuples that
-- can disagree with the database, so recovery checks just those instead of
-- reading the whole store.
create table engine_journal (
  id bigserial primary key,
  created_at timestamptz not null default now(),
  tuples jsonb not null
);
