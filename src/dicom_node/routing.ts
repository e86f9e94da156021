/**
 * Which model segments an instance: a configured route for its Modality
 * (`TINYUNET_DIMSE_ROUTES`), else the first model (by name, the default model first) whose
 * card lists the Modality in `"modalities": [...]`; else none (the instance is
 * acknowledged and logged, not segmented).
 *
 * @module
 */
import type { ModelCard } from "../models/card.ts";
import type { ModelRegistry } from "../models/registry.ts";
import type { ModelVersion } from "../models/model_version.ts";

/** The modalities a card declares (upper-cased; empty when it declares none: such a model is routed to only by TINYUNET_DIMSE_ROUTES). */
export function cardModalities(card: ModelCard): string[] {
  return (card.modalities ?? []).map((m) => m.trim().toUpperCase());
}

/** Where an instance goes, and why. */
export type Route =
  | { model: ModelVersion; by: "route" | "card" }
  | { model?: undefined; reason: string };

/**
 * Picks the model for a Modality.
 * @param routes configured `MODALITY → model` overrides
 */
export function routeModality(
  modality: string | undefined,
  registry: ModelRegistry,
  routes: Record<string, string>,
): Route {
  const code = (modality ?? "").trim().toUpperCase();
  if (!code) return { reason: "the instance has no Modality (0008,0060)" };
  const configured = routes[code];
  if (configured) {
    try {
      return { model: registry.get(configured), by: "route" };
    } catch (err) {
      return {
        reason: `TINYUNET_DIMSE_ROUTES sends ${code} to "${configured}", which is not loaded: ${
          (err as Error).message
        }`,
      };
    }
  }
  const names = registry.names();
  const ordered = registry.defaultModel
    ? [registry.defaultModel, ...names.filter((n) => n !== registry.defaultModel)]
    : names;
  for (const name of ordered) {
    let mv: ModelVersion;
    try {
      mv = registry.get(name);
    } catch {
      continue;
    }
    if (cardModalities(mv.card).includes(code)) return { model: mv, by: "card" };
  }
  return {
    reason: `no model lists modality ${code} (cards' "modalities" or TINYUNET_DIMSE_ROUTES)`,
  };
}
