/**
 * What every route needs: the model registry and the server settings.
 *
 * @module
 */
import type { ServerConfig } from "../config.ts";
import type { ModelRegistry } from "../models/registry.ts";

/** Shared state handed to each route module. */
export interface AppContext {
  registry: ModelRegistry;
  config: ServerConfig;
}
