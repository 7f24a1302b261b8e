import { type Actor, type Answer, Management } from "./mgmt.js";

/** A decision that is an allow before the revoke and must be a deny after it. */
export interface Question {
  user: string;
  action: string;
  resource: { type: "park"; id: string };
}

/** One revoke path of the stale-allow probe. */
export interface RevokePath {
  name: string;
  question: Question;
  /**
   * The revoke through replica A. For an ordinary path it resolves with the
   * 2xx answer, after which every allow is stale. For the expiry path the
   * revoke is time itself: it sets expiresAt `expiryLeadMs` ahead and returns
   * `staleAfter`, the wall-clock ms after which every allow is stale.
   */
  revoke(): Promise<{ answer: Answer; staleAfter?: number }>;
}

/** Sysadmin named in BOOTSTRAP_SYSADMINS of every sidecar the bench starts. */
export const BENCH_SYSADMIN = "bench-sysadmin";

const actor = (id: string): Actor => ({ id, email: `${id}@stale.bench.example` });

/**
 * Build the fixture of the probe through the management API (replica A), in
 * organizations of its own (platform invitations), so that the dataset the
 * other phases check against is untouched: an owner organization with one
 * portfolio and a park per path, three members, and four partner
 * organizations with a cooperation each.
 */
export async function buildStaleFixture(
  url: string,
  apiKey: string,
  expiryLeadMs: number,
): Promise<RevokePath[]> {
  const m = new Management(url, apiKey);
  const tag = `st${Date.now().toString(36)}`;
  const sys: Actor = { id: BENCH_SYSADMIN };
  const ownerAdmin = actor(`${tag}-owner-admin`);
  const owner = { id: await m.organization(sys, ownerAdmin, `Stale probe owner ${tag}`), admin: ownerAdmin };
  const portfolio = `${tag}-pf`;
  await m.portfolio(ownerAdmin, owner.id, portfolio);
  const park = (n: number) => `${tag}-pk${n}`;
  for (let n = 1; n <= 8; n++) await m.park(ownerAdmin, portfolio, park(n));
  const partner = async (n: number) => {
    const admin = actor(`${tag}-partner${n}-admin`);
    return { id: await m.organization(sys, admin, `Stale probe partner ${n} ${tag}`), admin };
  };

  const granted = actor(`${tag}-granted`);
  await m.member(owner.id, ownerAdmin, granted, "member");
  await m.grant(ownerAdmin, park(1), granted.id, "viewer");
  const removed = actor(`${tag}-removed`);
  await m.member(owner.id, ownerAdmin, removed, "asset_manager_commercial");
  const lowered = actor(`${tag}-lowered`);
  await m.member(owner.id, ownerAdmin, lowered, "asset_manager_technical");

  const p1 = await partner(1);
  const c1 = await m.cooperation(owner, p1, [
    { park: park(4), level: "operator" },
    { park: park(5), level: "viewer" },
  ]);
  const coop = async (n: number) => {
    const p = await partner(n);
    return { admin: p.admin, id: await m.cooperation(owner, p, [{ park: park(n + 4), level: "viewer" }]) };
  };
  const [c2, c3, c4] = [await coop(2), await coop(3), await coop(4)];

  const q = (user: Actor, action: string, n: number): Question => ({
    user: user.id,
    action,
    resource: { type: "park", id: park(n) },
  });
  const send = async (method: string, path: string, body?: unknown) => ({
    answer: await m.send(method, path, ownerAdmin, body),
  });
  return [
    {
      name: "grant removed",
      question: q(granted, "can_view", 1),
      revoke: () => send("DELETE", `/v1/parks/${park(1)}/grants/${granted.id}`),
    },
    {
      name: "member removed",
      question: q(removed, "can_view", 2),
      revoke: () => send("DELETE", `/v1/organizations/${owner.id}/members/${removed.id}`),
    },
    {
      name: "role lowered",
      question: q(lowered, "can_run_diagnostics", 3),
      revoke: () =>
        send("PUT", `/v1/organizations/${owner.id}/members/${lowered.id}/role`, { role: "member" }),
    },
    {
      name: "share lowered",
      question: q(p1.admin, "can_configure_settings", 4),
      revoke: () => send("PUT", `/v1/cooperations/${c1}/shares/park/${park(4)}`, { level: "viewer" }),
    },
    {
      name: "share removed",
      question: q(p1.admin, "can_view", 5),
      revoke: () => send("DELETE", `/v1/cooperations/${c1}/shares/park/${park(5)}`),
    },
    {
      name: "cooperation paused",
      question: q(c2.admin, "can_view", 6),
      revoke: () => send("POST", `/v1/cooperations/${c2.id}/pause`),
    },
    {
      name: "cooperation ended",
      question: q(c3.admin, "can_view", 7),
      revoke: () => send("POST", `/v1/cooperations/${c3.id}/end`),
    },
    {
      name: `cooperation expiring ${expiryLeadMs} ms ahead`,
      question: q(c4.admin, "can_view", 8),
      revoke: async () => {
        // A server slower than the lead refuses the instant as past (400): then a longer lead.
        for (let lead = expiryLeadMs; ; lead *= 4) {
          const expiresAt = Date.now() + lead;
          const answer = await m.send("PATCH", `/v1/cooperations/${c4.id}`, ownerAdmin, {
            expiresAt: new Date(expiresAt).toISOString(),
          });
          if (answer.status !== 400 || lead >= expiryLeadMs * 16)
            return { answer, staleAfter: expiresAt + 1 };
        }
      },
    },
  ];
}
