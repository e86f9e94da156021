/**
 * Entry for `deno serve serve.ts` (and `deno serve --parallel`): the app as a default
 * export. Each isolate loads its own copy of the models.
 *
 * @module
 */
import { createApp } from "./mod.ts";

const server = createApp();
server.ready.catch((err) => {
  console.error(`model repository failed to load: ${(err as Error).message}`);
  Deno.exit(1);
});

export default { fetch: server.app.fetch } satisfies Deno.ServeDefaultExport;
