/**
 * What other modules may use of the cooperation aggregate (invitations create,
 * activate and end pending cooperations; resources detach a resource and lock
 * cooperations in the lock order). Everything else stays inside the module.
 */
export {
  activateCooperation,
  type CooperationRow,
  cooperationOrgIds,
  createPendingCooperation,
  lockCooperation,
  lockCooperations,
  lockCooperationsOn,
  type ShareInput,
} from "./aggregate.js";
export { endPendingCooperation, type OnPendingEnded } from "./moves.js";
export { cooperationsRoutes } from "./routes.js";
export { detachResourceFromCooperations } from "./shares.js";
