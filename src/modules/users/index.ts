/** The users module: actors are recorded the first time they are seen (API.md "Authentication"). */
export { ensureUser } from "./repo.js";
