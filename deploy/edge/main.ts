/**
 * Entry of the edge function (Supabase: `supabase/functions/tinyunet/index.ts` re-exports
 * or copies this; Deno Deploy: the entry point). See deploy/edge/README.md.
 *
 * @module
 */
import { createEdgeHandler } from "./app.ts";

const edge = createEdgeHandler();
Deno.serve((request) => edge.fetch(request));
