import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { transformer } from "@openfga/syntax-transformer";
import type { Engine } from "./client.js";

export const DEFAULT_MODEL_FILE = fileURLToPath(new URL("../../model/model.fga", import.meta.url));

/** Compile a DSL model to the JSON that WriteAuthorizationModel takes. */
export function compileModel(dsl: string): ModelJson {
  return transformer.transformDSLToJSONObject(dsl) as unknown as ModelJson;
}

export interface ModelJson {
  schema_version: string;
  type_definitions: unknown[];
  conditions?: Record<string, unknown>;
}

/**
 * Canonical form for comparing a local model with a stored one: keys sorted,
 * empty values dropped (the server fills defaults and metadata differently from
 * the transformer), so restarts do not pile up identical models.
 */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      if (k === "id" || k === "source_info" || k === "module") continue;
      const c = canonical((v as Record<string, unknown>)[k]);
      if (c === null || c === undefined || c === "") continue;
      if (typeof c === "object" && Object.keys(c as object).length === 0) continue;
      out[k] = c;
    }
    return out;
  }
  return v;
}

export function modelHash(model: ModelJson): string {
  const { schema_version, type_definitions, conditions } = model;
  return createHash("sha256")
    .update(JSON.stringify(canonical({ schema_version, type_definitions, conditions })))
    .digest("hex");
}

export async function loadModelFile(path = DEFAULT_MODEL_FILE): Promise<ModelJson> {
  return compileModel(await readFile(path, "utf8"));
}

export interface BootstrapResult {
  storeId: string;
  modelId: string;
  createdStore: boolean;
  wroteModel: boolean;
}

/**
 * Find or create the store by name, write the model when it differs from the
 * store's latest one, and pin both ids on the engine. Pinned ids from
 * configuration skip all of it.
 */
export async function bootstrapEngine(
  engine: Engine,
  opts: { storeName: string; storeId?: string; modelId?: string; model: ModelJson },
): Promise<BootstrapResult> {
  if (opts.storeId && opts.modelId) {
    engine.pin(opts.storeId, opts.modelId);
    return { storeId: opts.storeId, modelId: opts.modelId, createdStore: false, wroteModel: false };
  }
  const admin = engine.admin;
  let storeId = opts.storeId;
  let createdStore = false;
  if (!storeId) {
    let token: string | undefined;
    do {
      const page = await admin.listStores({ pageSize: 100, continuationToken: token, name: opts.storeName });
      const found = page.stores?.find((s) => s.name === opts.storeName);
      if (found) storeId = found.id;
      token = page.continuation_token || undefined;
    } while (!storeId && token);
    if (!storeId) {
      storeId = (await admin.createStore({ name: opts.storeName })).id;
      createdStore = true;
    }
  }
  const latest = await admin
    .readAuthorizationModels({ storeId, pageSize: 1 })
    .then((r) => r.authorization_models?.[0])
    .catch(() => undefined);
  const wanted = modelHash(opts.model);
  if (latest && modelHash(latest as unknown as ModelJson) === wanted) {
    engine.pin(storeId, latest.id);
    return { storeId, modelId: latest.id, createdStore, wroteModel: false };
  }
  const written = await admin.writeAuthorizationModel(opts.model as never, { storeId });
  engine.pin(storeId, written.authorization_model_id);
  return { storeId, modelId: written.authorization_model_id, createdStore, wroteModel: true };
}
