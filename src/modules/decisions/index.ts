/** What other modules may use of the decisions module (the explain module asks the same question). */
export { evaluate } from "./service.js";
