/**
 * The public surface of the authorization model: SPEC §2 as data.
 *
 * This is the single list of permission names that the decision API answers
 * for. Anything else in the model (roles, levels, shares, helpers) is internal
 * and a question about it answers `decision: false`. The model tests are
 * generated from these tables, and a unit test checks them against the model.
 */

export const JOB_LEVELS = ["operator", "technical_manager", "asset_manager", "viewer"] as const;
export type JobLevel = (typeof JOB_LEVELS)[number];

export const ORG_ROLES = [
  "admin",
  "moderator",
  "asset_manager_technical",
  "asset_manager_commercial",
  "member",
  "external",
] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

export const STAFF_ROLES = ["support", "sales", "sysadmin"] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export const RESOURCE_TYPES = ["park", "portfolio"] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/**
 * Tables looked up with request input (a resource type, an action name):
 * without a prototype, so `__proto__`, `constructor` or `toString` are
 * unknown names (a deny), not Object.prototype members.
 */
function lookupTable<V>(entries: Record<string, V>): Readonly<Record<string, V>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, V>, entries));
}

/** SPEC §2, first table: which job levels give each level-derived permission. */
export const LEVEL_PERMISSIONS: Readonly<Record<string, readonly JobLevel[]>> = lookupTable({
  can_view: ["viewer", "asset_manager", "technical_manager", "operator"],
  can_generate_report: ["viewer", "asset_manager", "technical_manager", "operator"],
  can_read_ticket: ["viewer", "asset_manager", "technical_manager", "operator"],
  can_create_ticket: ["asset_manager", "technical_manager", "operator"],
  can_edit_details: ["asset_manager", "technical_manager", "operator"],
  can_manage_contracts: ["asset_manager", "operator"],
  can_view_billing: ["asset_manager", "operator"],
  can_close_ticket: ["technical_manager", "operator"],
  can_manage_components: ["technical_manager", "operator"],
  can_delete_component: ["technical_manager", "operator"],
  can_delete_event: ["technical_manager", "operator"],
  can_run_diagnostics: ["technical_manager", "operator"],
  can_use_proxy: ["technical_manager", "operator"],
  can_configure_settings: ["operator"],
  can_use_vpn: ["operator"],
});

/** Resource permissions that do not come from a job level (SPEC §2). */
export const RESOURCE_ADMIN_PERMISSIONS = ["can_manage_access", "can_share", "can_view_audit_log"] as const;

/** SPEC §2, organization table: which roles hold each organization permission. */
export const ORG_PERMISSIONS: Readonly<Record<string, readonly OrgRole[]>> = lookupTable({
  can_view: ORG_ROLES,
  can_manage_members: ["admin", "moderator"],
  can_invite_member: ["admin", "moderator"],
  can_assign_admin: ["admin"],
  can_assign_moderator: ["admin"],
  can_assign_asset_manager_technical: ["admin", "moderator"],
  can_assign_asset_manager_commercial: ["admin", "moderator"],
  can_assign_member: ["admin", "moderator"],
  can_assign_external: ["admin", "moderator"],
  can_create_portfolio: ["admin", "moderator", "asset_manager_commercial"],
  can_create_park: ["admin", "moderator", "asset_manager_technical", "asset_manager_commercial"],
  can_view_billing: ["admin", "asset_manager_commercial"],
  can_manage_billing: ["admin"],
  can_manage_cooperations: ["admin"],
  can_view_audit_log: ["admin"],
  can_manage_settings: ["admin"],
  can_use_file_storage: ["admin", "moderator"],
});

/** Platform permissions (resource `platform:default`). */
export const PLATFORM_PERMISSIONS: Readonly<Record<string, readonly StaffRole[]>> = lookupTable({
  can_send_platform_invitation: ["support", "sales", "sysadmin"],
  can_administer: ["sysadmin"],
});

const resourcePermissions = [...Object.keys(LEVEL_PERMISSIONS), ...RESOURCE_ADMIN_PERMISSIONS];

/** Every permission the decision API answers for, per resource type. */
export const PUBLIC_PERMISSIONS: Readonly<Record<string, ReadonlySet<string>>> = lookupTable({
  park: new Set(resourcePermissions),
  portfolio: new Set(resourcePermissions),
  organization: new Set(Object.keys(ORG_PERMISSIONS)),
  platform: new Set(Object.keys(PLATFORM_PERMISSIONS)),
});

export function isPublicPermission(type: string, action: string): boolean {
  return PUBLIC_PERMISSIONS[type]?.has(action) ?? false;
}

/** Baseline level that an organization role gives on every owned resource (R-O1). */
export const ROLE_BASELINE: Readonly<Record<OrgRole, JobLevel | null>> = {
  admin: "operator",
  moderator: "operator",
  asset_manager_technical: "technical_manager",
  asset_manager_commercial: "asset_manager",
  member: null,
  external: null,
};

/** Partial order of the level lattice: operator > {technical_manager, asset_manager} > viewer. */
export function levelAtLeast(held: JobLevel, wanted: JobLevel): boolean {
  if (held === wanted || held === "operator") return true;
  return wanted === "viewer";
}

/** Greatest level <= both (the meet of the lattice); used for the live cap (R-C9). */
export function levelMeet(a: JobLevel, b: JobLevel): JobLevel {
  if (levelAtLeast(a, b)) return b;
  if (levelAtLeast(b, a)) return a;
  return "viewer";
}
