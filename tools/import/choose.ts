/**
 * Chooses an imported model's input normalisation, output kind and threshold by mean Dice
 * on labelled images, through the serving path (`tools/evaluate`'s `evaluatePairs`: decode
 * → preprocess with the candidate card → queued engine run → postprocess). Each candidate
 * card is loaded as a model version; every image is segmented once per candidate and
 * scored at several thresholds from the same probabilities.
 *
 * Order: every normalisation with the output kind the graph suggests, then the other kind
 * with the best normalisation. The graph's kind is kept unless the other scores clearly
 * better ({@link KIND_MARGIN}) — on thresholds in (0, 1) the two readings often score
 * alike, and the kind also decides the probabilities the server reports — and an output
 * that leaves [0, 1] is never read as probabilities. Ties keep the earlier candidate and
 * the threshold nearest 0.5.
 *
 * @module
 */
import { confusion, overlapMetrics } from "../../lib/metrics/overlap.ts";
import { type ModelCard, parseCard } from "../../src/models/card.ts";
import { type LoadOptions, ModelVersion } from "../../src/models/model_version.ts";
import type { ModelEntry } from "../../src/models/repository.ts";
import type { Pair } from "../evaluate/dataset.ts";
import { evaluatePairs } from "../evaluate/evaluate.ts";
import type { Normalisation } from "./normalisation.ts";

/** Thresholds tried on the foreground probability. */
export const THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7] as const;

/** How much better (mean Dice) the other output kind must score to replace the graph's. */
export const KIND_MARGIN = 0.02;

/** One scored candidate. */
export interface Candidate {
  normalisation: Normalisation;
  kind: "logits" | "probabilities";
  /** mean Dice at each of {@link THRESHOLDS} */
  diceByThreshold: number[];
  /** the best threshold and its mean Dice */
  threshold: number;
  dice: number;
  /** why this candidate cannot be chosen (probabilities outside [0, 1]) */
  invalid?: string;
  /** mean Dice of marking every pixel foreground, on the same images (the floor to beat) */
  allForegroundDice: number;
}

/** The whole choice. */
export interface Choice {
  candidates: Candidate[];
  best: Candidate;
  n: number;
  /** mean Dice of an all-foreground mask: a model that does not beat it has learnt nothing here */
  allForegroundDice: number;
}

function bestThreshold(dice: number[]): number {
  let best = THRESHOLDS.indexOf(0.5);
  for (let i = 0; i < THRESHOLDS.length; i++) {
    const nearer = Math.abs(THRESHOLDS[i] - 0.5) < Math.abs(THRESHOLDS[best] - 0.5);
    if (dice[i] > dice[best] + 1e-9 || (Math.abs(dice[i] - dice[best]) <= 1e-9 && nearer)) {
      best = i;
    }
  }
  return best;
}

/**
 * Scores one candidate card on the pairs.
 * @param card the draft card (its `input.mean/std` and `output.kind` replaced here)
 * @param dir the staged version folder holding the model files
 */
export async function scoreCandidate(
  card: Record<string, unknown> & {
    input: Record<string, unknown>;
    output: Record<string, unknown>;
  },
  dir: string,
  normalisation: Normalisation,
  kind: "logits" | "probabilities",
  pairs: readonly Pair[],
  options: LoadOptions,
): Promise<Candidate> {
  const parsed: ModelCard = parseCard(
    {
      ...card,
      input: { ...card.input, mean: normalisation.mean, std: normalisation.std },
      output: { ...card.output, kind },
      postprocess: { largest_component: false },
    },
    `${dir}/model.json (candidate ${normalisation.name}, ${kind})`,
  );
  const entry: ModelEntry = { name: parsed.name, version: parsed.version, dir, card: parsed };
  const model = await ModelVersion.load(entry, options);
  const sums = new Array<number>(THRESHOLDS.length).fill(0);
  let min = Infinity, max = -Infinity, floor = 0;
  try {
    const { n } = await evaluatePairs(model, pairs, "fp32", undefined, {
      postprocess: "none",
      onMask: (_mask, truth, _w, _h, probability) => {
        floor += overlapMetrics(confusion(new Uint8Array(truth.length).fill(1), truth)).dice;
        for (const v of probability) {
          if (v < min) min = v;
          if (v > max) max = v;
        }
        THRESHOLDS.forEach((t, i) => {
          const pred = new Uint8Array(probability.length);
          for (let p = 0; p < pred.length; p++) pred[p] = probability[p] > t ? 1 : 0;
          sums[i] += overlapMetrics(confusion(pred, truth)).dice;
        });
      },
    });
    const diceByThreshold = sums.map((s) => s / n);
    const i = bestThreshold(diceByThreshold);
    return {
      normalisation,
      kind,
      diceByThreshold,
      threshold: THRESHOLDS[i],
      dice: diceByThreshold[i],
      allForegroundDice: floor / n,
      ...(kind === "probabilities" && (min < -1e-3 || max > 1 + 1e-3)
        ? { invalid: `output spans [${min.toFixed(2)}, ${max.toFixed(2)}], not probabilities` }
        : {}),
    };
  } finally {
    await model.unload();
  }
}

/**
 * Tries every normalisation with the suggested kind, then the other kind with the best.
 * @param progress told about each candidate once scored
 */
export async function chooseInputAndOutput(
  card: Parameters<typeof scoreCandidate>[0],
  dir: string,
  normalisations: readonly Normalisation[],
  suggestedKind: "logits" | "probabilities",
  pairs: readonly Pair[],
  options: LoadOptions,
  progress: (c: Candidate) => void = () => {},
): Promise<Choice> {
  const candidates: Candidate[] = [];
  const better = (a: Candidate, b: Candidate, margin = 1e-9) =>
    !a.invalid && (b.invalid !== undefined || a.dice > b.dice + margin);
  let best: Candidate | undefined;
  for (const norm of normalisations) {
    const c = await scoreCandidate(card, dir, norm, suggestedKind, pairs, options);
    candidates.push(c);
    progress(c);
    if (!best || better(c, best)) best = c;
  }
  const other = suggestedKind === "logits" ? "probabilities" : "logits";
  const alt = await scoreCandidate(card, dir, best!.normalisation, other, pairs, options);
  candidates.push(alt);
  progress(alt);
  if (better(alt, best!, KIND_MARGIN)) best = alt;
  return {
    candidates,
    best: best!,
    n: pairs.length,
    allForegroundDice: candidates[0].allForegroundDice,
  };
}
