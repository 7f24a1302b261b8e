import http from "node:http";
import { CredentialsMethod, OpenFgaClient } from "@openfga/sdk";
import axios from "axios";
import type { Tuple } from "../kernel/tuples.js";

export interface EngineOptions {
  apiUrl: string;
  apiToken?: string;
  storeId?: string;
  modelId?: string;
  /** Bound for one check; decisions fail closed past it. */
  timeoutMs: number;
  /** Bound for list/search calls, batch checks and writes. */
  searchTimeoutMs: number;
  /** Check units in flight at most (a BatchCheck of n items weighs n); default 32. */
  maxInFlight?: number;
  /** Check units that may wait for a slot; beyond them a call is refused (503). Default 256. */
  queueMax?: number;
  /** How long a call may wait for a slot (predicted or actual) before it is refused (503); default 2000. */
  queueWaitMs?: number;
  /** Check requests in flight beyond which concurrent checks go together as BatchChecks; default 4. */
  batchAfter?: number;
}

/**
 * The SDK client (lists, writes, reads, store and model management) with the
 * long bound; SDK retries are off, so every call answers within its bound.
 */
export function createSdkClient(opts: EngineOptions): OpenFgaClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  return new OpenFgaClient(
    {
      apiUrl: opts.apiUrl,
      storeId: opts.storeId,
      authorizationModelId: opts.modelId,
      credentials: opts.apiToken
        ? { method: CredentialsMethod.ApiToken, config: { token: opts.apiToken } }
        : undefined,
      retryParams: { maxRetry: 0 },
    },
    axios.create({ timeout: opts.searchTimeoutMs, httpAgent: agent }) as never,
  );
}

/** A tuple as the engine's read API returns it, in the service's shape. */
export function fromApi(k: {
  user: string;
  relation: string;
  object: string;
  condition?: { name: string; context?: object };
}): Tuple {
  const tuple: Tuple = { user: k.user, relation: k.relation, object: k.object };
  if (k.condition?.name) {
    tuple.condition = {
      name: k.condition.name,
      context: (k.condition.context ?? {}) as Record<string, unknown>,
    };
  }
  return tuple;
}
