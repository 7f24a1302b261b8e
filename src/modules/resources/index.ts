/** What other modules may use of the resources module. */
export { effectiveLevel } from "./levels.js";
