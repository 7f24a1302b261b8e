import type { JobLevel, OrgRole } from "../src/engine/permissions.js";

/**
 * A small client of the management API (`/v1/…`) as an admin front-end calls
 * it: the bench's API key plus `X-Actor-Id` (and `X-Actor-Email` where an
 * invitation is accepted). Every call is bounded (10 s); a non-2xx answer throws.
 */

export interface Actor {
  id: string;
  email?: string;
}

export interface Answer {
  status: number;
  body: unknown;
  /** performance.now() when the answer's status was known. */
  at: number;
}

export class ManagementError extends Error {
  constructor(
    readonly status: number,
    what: string,
    text: string,
  ) {
    super(`${what} answered ${status}: ${text.slice(0, 300)}`);
  }
}

export class Management {
  constructor(
    readonly url: string,
    private readonly apiKey: string,
  ) {}

  /** One call; resolves with any status (the caller decides what a failure is). */
  async send(method: string, path: string, actor: Actor, body?: unknown): Promise<Answer & { text: string }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${this.apiKey}`,
        "x-actor-id": actor.id,
        ...(actor.email ? { "x-actor-email": actor.email } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const at = performance.now();
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, at, text };
  }

  /** One call that must answer 2xx; returns its JSON body. */
  async ok<T = Record<string, unknown>>(
    method: string,
    path: string,
    actor: Actor,
    body?: unknown,
  ): Promise<T> {
    const a = await this.send(method, path, actor, body);
    if (a.status < 200 || a.status > 299) throw new ManagementError(a.status, `${method} ${path}`, a.text);
    return a.body as T;
  }

  /** A platform invitation from `sysadmin`, accepted by `admin`: a new organization with `admin` as its admin. */
  async organization(sysadmin: Actor, admin: Actor, name: string): Promise<string> {
    const inv = await this.ok<{ token: string }>("POST", "/v1/invitations", sysadmin, {
      type: "platform",
      email: admin.email,
      organizationName: name,
    });
    const acc = await this.ok<{ organizationId: string }>("POST", "/v1/invitations/accept", admin, {
      token: inv.token,
    });
    return acc.organizationId;
  }

  /** An organization invitation from `admin`, accepted by `user` with the token. */
  async member(orgId: string, admin: Actor, user: Actor, role: OrgRole): Promise<void> {
    const inv = await this.ok<{ token: string }>("POST", "/v1/invitations", admin, {
      type: "organization",
      organizationId: orgId,
      email: user.email,
      role,
    });
    await this.ok("POST", "/v1/invitations/accept", user, { token: inv.token });
  }

  async portfolio(admin: Actor, orgId: string, id: string): Promise<void> {
    await this.ok("PUT", `/v1/portfolios/${id}`, admin, { organizationId: orgId, name: `Stale probe ${id}` });
  }

  async park(admin: Actor, portfolioId: string, id: string): Promise<void> {
    await this.ok("PUT", `/v1/parks/${id}`, admin, { portfolioId, name: `Stale probe ${id}` });
  }

  async grant(admin: Actor, parkId: string, userId: string, level: JobLevel): Promise<void> {
    await this.ok("PUT", `/v1/parks/${parkId}/grants/${userId}`, admin, { level });
  }

  /** A cooperation owner → partner sharing parks, accepted by the partner's admin (by organization id). */
  async cooperation(
    owner: { id: string; admin: Actor },
    partner: { id: string; admin: Actor },
    shares: { park: string; level: JobLevel }[],
  ): Promise<string> {
    const inv = await this.ok<{ invitation: { id: string } }>("POST", "/v1/invitations", owner.admin, {
      type: "cooperation",
      organizationId: owner.id,
      partner: { organizationId: partner.id },
      shares: shares.map((s) => ({ resource: { type: "park", id: s.park }, level: s.level })),
    });
    const acc = await this.ok<{ cooperationId?: string }>(
      "POST",
      `/v1/invitations/${inv.invitation.id}/accept`,
      partner.admin,
      {},
    );
    if (!acc.cooperationId) throw new Error(`cooperation invitation accepted without a cooperationId`);
    return acc.cooperationId;
  }
}
