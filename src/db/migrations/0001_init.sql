-- Domain schema. PostgreSQL is the source of truth; OpenFGA holds the
-- relationships derived from these rows (src/domain/tuples.ts).

create table users (
  id text primary key check (id ~ '^[A-Za-z0-9._@:|-]{1,128}$'),
  email text check (email = lower(email)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index users_email_idx on users (email);

create table platform_staff (
  user_id text primary key references users(id),
  role text not null check (role in ('support', 'sales', 'sysadmin')),
  created_at timestamptz not null default now()
);

create table organizations (
  id text primary key,
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- R-O7: the primary key on user_id makes "one organization per user" a constraint.
create table memberships (
  user_id text primary key references users(id),
  organization_id text not null references organizations(id),
  role text not null check (role in ('admin', 'moderator', 'asset_manager_technical',
    'asset_manager_commercial', 'member', 'external')),
  joined_at timestamptz not null default now()
);
create index memberships_org_idx on memberships (organization_id, role);

create table portfolios (
  id text primary key check (id ~ '^[A-Za-z0-9._@:|-]{1,128}$'),
  organization_id text not null references organizations(id),
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, organization_id)
);
create index portfolios_org_idx on portfolios (organization_id);

-- R-H2: the composite foreign key keeps a park's portfolio in the park's organization.
create table parks (
  id text primary key check (id ~ '^[A-Za-z0-9._@:|-]{1,128}$'),
  portfolio_id text not null,
  organization_id text not null references organizations(id),
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (portfolio_id, organization_id) references portfolios (id, organization_id)
);
create index parks_portfolio_idx on parks (portfolio_id);
create index parks_org_idx on parks (organization_id);

-- R-C1: at most one non-ended cooperation per ordered pair, never with itself.
-- partner_organization_id is null while a cooperation invitation addressed to an
-- email with no organization yet is pending.
create table cooperations (
  id text primary key,
  owner_organization_id text not null references organizations(id),
  partner_organization_id text references organizations(id),
  state text not null check (state in ('pending', 'active', 'paused', 'ended')),
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  ended_at timestamptz,
  check (owner_organization_id <> partner_organization_id)
);
create unique index cooperations_open_pair_uq on cooperations (owner_organization_id, partner_organization_id)
  where state <> 'ended';
create index cooperations_partner_idx on cooperations (partner_organization_id);

-- R-C4: each resource at most once per cooperation.
create table shares (
  cooperation_id text not null references cooperations(id),
  resource_type text not null check (resource_type in ('park', 'portfolio')),
  resource_id text not null,
  level text not null check (level in ('operator', 'technical_manager', 'asset_manager', 'viewer')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (cooperation_id, resource_type, resource_id)
);
create index shares_resource_idx on shares (resource_type, resource_id);

-- A grant (cooperation_id null) or a delegation (cooperation_id set) of one
-- level to one user on one park or portfolio.
create table grants (
  resource_type text not null check (resource_type in ('park', 'portfolio')),
  resource_id text not null,
  user_id text not null references users(id),
  level text not null check (level in ('operator', 'technical_manager', 'asset_manager', 'viewer')),
  organization_id text not null references organizations(id),
  cooperation_id text references cooperations(id),
  granted_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (resource_type, resource_id, user_id)
);
create index grants_user_idx on grants (user_id);
create index grants_coop_idx on grants (cooperation_id) where cooperation_id is not null;

create table invitations (
  id text primary key,
  type text not null check (type in ('platform', 'organization', 'cooperation')),
  status text not null check (status in ('pending', 'accepted', 'declined', 'revoked', 'expired')),
  email text check (email = lower(email)),
  organization_id text references organizations(id),
  partner_organization_id text references organizations(id),
  role text,
  organization_name text,
  cooperation_id text references cooperations(id),
  token_hash bytea not null unique,
  inviter_id text not null references users(id),
  expires_at timestamptz not null,
  accepted_by text,
  accepted_at timestamptz,
  result jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (email is not null or partner_organization_id is not null)
);
create index invitations_org_idx on invitations (organization_id, status, created_at desc);
create index invitations_email_idx on invitations (email);

-- Transactional outbox for notifications (R-I10).
create table outbox (
  id bigserial primary key,
  event_id uuid not null unique,
  topic text not null,
  aggregate_id text not null,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  delivered_at timestamptz,
  last_error text
);
create index outbox_pending_idx on outbox (next_attempt_at) where delivered_at is null;
create index outbox_aggregate_idx on outbox (aggregate_id, id);

-- R-A1: append-only audit log, written in the same transaction as the change.
create table audit_events (
  id bigserial primary key,
  at timestamptz not null default now(),
  actor_id text,
  action text not null,
  target_type text not null,
  target_id text not null,
  organization_ids text[] not null default '{}',
  before jsonb,
  after jsonb,
  request_id text
);
create index audit_events_orgs_idx on audit_events using gin (organization_ids);

create function audit_events_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_events is append-only' using errcode = 'insufficient_privilege';
end $$;
create trigger audit_events_no_update before update or delete on audit_events
  for each row execute function audit_events_append_only();
create trigger audit_events_no_truncate before truncate on audit_events
  for each statement execute function audit_events_append_only();
