import { serve } from "@hono/node-server";
import { Hono } from "hono";

/**
 * The ceiling of the HTTP stack: Hono on @hono/node-server answering the
 * same route with a constant decision, no auth, no validation, no engine.
 */
const app = new Hono();
app.post("/access/v1/evaluation", async (c) => {
  await c.req.json();
  return c.json({ decision: true });
});
app.get("/healthz", (c) => c.json({ status: "ok" }));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" });
