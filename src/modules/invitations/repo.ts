import type { Sql, Tx } from "../../db/pool.js";
import { NotFound } from "../../kernel/errors.js";

/** SQL of the invitations module. */

export type InvitationType = "platform" | "organization" | "cooperation";
export type InvitationStatus = "pending" | "accepted" | "declined" | "revoked" | "expired";

export interface InvitationRow {
  id: string;
  type: InvitationType;
  status: InvitationStatus;
  email: string | null;
  organization_id: string | null;
  partner_organization_id: string | null;
  role: string | null;
  organization_name: string | null;
  cooperation_id: string | null;
  inviter_id: string;
  expires_at: Date;
  accepted_by: string | null;
  accepted_at: Date | null;
  result: { organizationId: string; cooperationId?: string } | null;
  created_at: Date;
  updated_at: Date;
  /** Name of organization_id (sender side), joined. */
  sender_organization_name?: string | null;
}

type Db = Sql | Tx;

const COLUMNS = (
  db: Db,
) => db`i.id, i.type, i.status, i.email, i.organization_id, i.partner_organization_id, i.role,
  i.organization_name, i.cooperation_id, i.inviter_id, i.expires_at, i.accepted_by, i.accepted_at, i.result,
  i.created_at, i.updated_at, o.name as sender_organization_name`;

export async function insertInvitation(
  tx: Tx,
  r: Omit<
    InvitationRow,
    | "status"
    | "accepted_by"
    | "accepted_at"
    | "result"
    | "created_at"
    | "updated_at"
    | "sender_organization_name"
  > & { token_hash: Buffer },
): Promise<void> {
  await tx`insert into invitations ${tx({ ...r, status: "pending" })}`;
}

export async function findById(db: Db, id: string, lock = false): Promise<InvitationRow | undefined> {
  const [r] = lock
    ? await db`select ${COLUMNS(db)} from invitations i left join organizations o on o.id = i.organization_id
        where i.id = ${id} for update of i`
    : await db`select ${COLUMNS(db)} from invitations i left join organizations o on o.id = i.organization_id
        where i.id = ${id}`;
  return r as InvitationRow | undefined;
}

/** The invitation, or 404 invitation-not-found. */
export async function loadInvitation(db: Db, id: string): Promise<InvitationRow> {
  const inv = await findById(db, id);
  if (!inv) throw NotFound("invitation-not-found", `no invitation ${id}`);
  return inv;
}

export async function findByTokenHash(db: Db, hash: Buffer): Promise<InvitationRow | undefined> {
  const [r] =
    await db`select ${COLUMNS(db)} from invitations i left join organizations o on o.id = i.organization_id
    where i.token_hash = ${hash}`;
  return r as InvitationRow | undefined;
}

/** Guarded transition out of `pending`; nothing when the row is no longer pending (or already past expiry). */
export async function transition(
  tx: Tx,
  id: string,
  to: InvitationStatus,
  now: Date,
  extra: { acceptedBy?: string; result?: unknown } = {},
): Promise<boolean> {
  const notExpired = to === "expired" ? tx`expires_at <= ${now}` : tx`expires_at > ${now}`;
  const rows = await tx`update invitations set status = ${to}, updated_at = ${now},
      accepted_by = ${extra.acceptedBy ?? null}, accepted_at = ${extra.acceptedBy ? now : null},
      result = ${extra.result === undefined ? null : tx.json(extra.result as never)}
    where id = ${id} and status = 'pending' and ${notExpired} returning id`;
  return rows.length === 1;
}

/** Resend: a new token hash and a new lifetime, only while pending. */
export async function rotateToken(tx: Tx, id: string, hash: Buffer, expiresAt: Date, now: Date) {
  const rows =
    await tx`update invitations set token_hash = ${hash}, expires_at = ${expiresAt}, updated_at = ${now}
    where id = ${id} and status = 'pending' and expires_at > ${now} returning id`;
  return rows.length === 1;
}

export async function listInvitations(
  db: Db,
  q: {
    organizationId: string | null;
    types: InvitationType[];
    status?: InvitationStatus;
    now: Date;
    limit: number;
    after?: { createdAt: string; id: string };
  },
): Promise<(InvitationRow & { cursor_at: string })[]> {
  const org = q.organizationId ? db`i.organization_id = ${q.organizationId}` : db`i.organization_id is null`;
  const status =
    q.status === undefined
      ? db`true`
      : q.status === "expired"
        ? db`(i.status = 'expired' or (i.status = 'pending' and i.expires_at <= ${q.now}))`
        : q.status === "pending"
          ? db`(i.status = 'pending' and i.expires_at > ${q.now})`
          : db`i.status = ${q.status}`;
  const after = q.after
    ? db`(i.created_at, i.id) < (${q.after.createdAt}::timestamptz, ${q.after.id})`
    : db`true`;
  const rows = await db`select ${COLUMNS(db)}, i.created_at::text as cursor_at
    from invitations i left join organizations o on o.id = i.organization_id
    where ${org} and i.type in ${db(q.types)} and ${status} and ${after}
    order by i.created_at desc, i.id desc limit ${q.limit}`;
  return rows as unknown as (InvitationRow & { cursor_at: string })[];
}

/** Pending invitations already past their expiry (for the expiry sweep). */
export async function dueForExpiry(db: Db, now: Date, limit: number, organizationId?: string) {
  const org = organizationId ? db`and organization_id = ${organizationId}` : db``;
  const rows = await db`select id from invitations where status = 'pending' and expires_at <= ${now} ${org}
    order by expires_at limit ${limit}`;
  return rows.map((r) => r.id as string);
}

export async function organizationOf(
  db: Db,
  userId: string,
): Promise<{ id: string; role: string } | undefined> {
  const [r] = await db`select organization_id as id, role from memberships where user_id = ${userId}`;
  return r as { id: string; role: string } | undefined;
}

export async function organizationName(db: Db, id: string): Promise<string | undefined> {
  const [r] = await db`select name from organizations where id = ${id}`;
  return r?.name as string | undefined;
}

export async function adminEmails(db: Db, organizationId: string): Promise<string[]> {
  const rows = await db`select u.email from memberships m join users u on u.id = m.user_id
    where m.organization_id = ${organizationId} and m.role = 'admin' and u.email is not null order by u.email`;
  return rows.map((r) => r.email as string);
}

/** Resources among `wanted` that the organization owns (R-C3). */
export async function ownedResources(
  db: Db,
  organizationId: string,
  wanted: { type: "park" | "portfolio"; id: string }[],
): Promise<Set<string>> {
  const parks = wanted.filter((w) => w.type === "park").map((w) => w.id);
  const pfs = wanted.filter((w) => w.type === "portfolio").map((w) => w.id);
  const out = new Set<string>();
  if (parks.length) {
    for (const r of await db`select id from parks where organization_id = ${organizationId} and id in ${db(parks)}`)
      out.add(`park:${r.id}`);
  }
  if (pfs.length) {
    for (const r of await db`select id from portfolios where organization_id = ${organizationId} and id in ${db(pfs)}`)
      out.add(`portfolio:${r.id}`);
  }
  return out;
}

/** R-I9: the result an acceptance answers again on a repeat. */
export async function storeResult(
  tx: Tx,
  id: string,
  result: NonNullable<InvitationRow["result"]>,
): Promise<void> {
  await tx`update invitations set result = ${tx.json(result as never)} where id = ${id}`;
}

/** The pending invitations of a cooperation, locked in id order. */
export async function lockPendingOfCooperation(tx: Tx, cooperationId: string): Promise<string[]> {
  const rows = await tx`select id from invitations
    where cooperation_id = ${cooperationId} and status = 'pending' order by id for update`;
  return rows.map((r) => r.id as string);
}

/** The outbox (R-I10): events in the change's own transaction, delivered by worker.ts. */
export async function insertOutbox(
  tx: Tx,
  e: { eventId: string; topic: string; aggregateId: string; payload: unknown },
): Promise<void> {
  await tx`insert into outbox (event_id, topic, aggregate_id, payload)
    values (${e.eventId}, ${e.topic}, ${e.aggregateId}, ${tx.json(e.payload as never)})`;
}

export async function outboxOf(db: Db, invitationId: string) {
  return db`select event_id, topic, created_at, delivered_at, attempts, payload from outbox
    where aggregate_id = ${invitationId} order by id`;
}

/**
 * Claim due events: `for update skip locked`, so replicas share the work, and
 * never an event while an earlier one of the same invitation is undelivered.
 */
export async function claimDueEvents(tx: Tx, batch: number) {
  return tx`select o.id, o.event_id, o.topic, o.payload, o.attempts, o.created_at from outbox o
    where o.delivered_at is null and o.next_attempt_at <= now()
      and not exists (select 1 from outbox e where e.aggregate_id = o.aggregate_id and e.id < o.id
                      and e.delivered_at is null)
    order by o.id limit ${batch} for update of o skip locked`;
}

export async function markDelivered(tx: Tx, id: string): Promise<void> {
  await tx`update outbox set delivered_at = now(), attempts = attempts + 1, last_error = null where id = ${id}`;
}

export async function markFailed(tx: Tx, id: string, error: string, delayMs: number): Promise<void> {
  await tx`update outbox set attempts = attempts + 1, last_error = ${error},
    next_attempt_at = now() + ${delayMs} * interval '1 millisecond' where id = ${id}`;
}
