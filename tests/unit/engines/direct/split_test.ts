import assert from "node:assert/strict";
import {
  SPLIT_PROBE_EVERY,
  SplitChoice,
  SplitPolicy,
} from "../../../../src/engines/direct/split.ts";

Deno.test("a run may take two threads only when it starts alone, a quiet spell after runs last overlapped", () => {
  const policy = new SplitPolicy(100);
  assert.equal(policy.start(true, 0), true, "alone");
  assert.equal(policy.start(true, 1), false, "overlaps the first");
  policy.end();
  policy.end();
  assert.equal(policy.start(true, 50), false, "alone, but runs overlapped 49 ms ago");
  policy.end();
  assert.equal(policy.start(false, 200), false, "splitting off");
  policy.end();
  assert.equal(policy.start(true, 201), true, "alone after 200 ms without overlap");
  policy.end();
});

Deno.test("an onnxruntime run counts as a run that overlaps: no split while it goes, nor a quiet spell after", () => {
  const policy = new SplitPolicy(100);
  const ended = policy.other(0);
  assert.equal(policy.start(true, 500), false, "an onnxruntime run going");
  policy.end();
  ended(600);
  ended(5000); // ending twice counts once
  assert.equal(policy.start(true, 650), false, "50 ms after it ended");
  policy.end();
  assert.equal(policy.start(true, 701), true, "a quiet spell after it");
  const during = policy.other(702);
  during(710);
  policy.end();
  assert.equal(policy.start(true, 750), false, "one started while a run went");
  policy.end();
  assert.equal(policy.start(true, 811), true);
  policy.end();
});

Deno.test("a program's lone runs keep the faster way, and try the other now and then", () => {
  const choice = new SplitChoice();
  const picks: boolean[] = [];
  const run = (oneMs: number, twoMs: number) => {
    const two = choice.wantTwo();
    picks.push(two);
    choice.record(two, two ? twoMs : oneMs);
  };
  for (let i = 0; i < 4; i++) run(1.6, 2.9);
  assert.deepEqual(picks, [true, true, false, false], "tries two twice, then one twice");
  for (let i = 0; i < 2 * SPLIT_PROBE_EVERY; i++) run(1.6, 2.9); // the other core busy
  assert.equal(picks.slice(4).filter((x) => x).length, 2, "one thread, two only as a probe");
  picks.length = 0;
  for (let i = 0; i < 4 * SPLIT_PROBE_EVERY; i++) run(1.9, 1.2); // the core free again
  assert.ok(picks.slice(-SPLIT_PROBE_EVERY).filter((x) => x).length >= SPLIT_PROBE_EVERY - 1);
});
