import { generateApiKey } from "./auth.js";

/** `npm run keygen -- [name] [scopes]`: prints a new API key and its API_KEYS entry. */
const name = process.argv[2] ?? "service";
const scopes = process.argv[3] ?? "decide+manage";
const { key, hash } = generateApiKey();
process.stdout.write(
  `key (give to the caller, shown once): ${key}\nAPI_KEYS entry (configure): ${name}:${scopes}:${hash}\n`,
);
