/** What other modules may use of the organizations module. */

export { OrgParams } from "./schemas.js";
export { orgObject, requireOrganization } from "./service.js";
export { addMember, type CreatedOrganization, createOrganization } from "./verbs.js";
