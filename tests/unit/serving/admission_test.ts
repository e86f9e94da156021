import assert from "node:assert/strict";
import { ApiError } from "../../../src/errors.ts";
import { readBody } from "../../../src/serving/admission.ts";
import { StageAbortedError } from "../../../src/serving/pool.ts";

Deno.test("readBody: a body cut off after the deadline is the abort, a dropped body a 400", async () => {
  const controller = new AbortController();
  controller.abort(new Error("deadline"));
  await assert.rejects(
    readBody(() => Promise.reject(new Deno.errors.BadResource("gone")), controller.signal),
    StageAbortedError,
  );
  await assert.rejects(
    readBody(
      () => Promise.reject(new Deno.errors.BadResource("gone")),
      new AbortController().signal,
    ),
    (err: unknown) => err instanceof ApiError && err.code === "bad_request",
  );
  assert.equal(await readBody(() => Promise.resolve(7), new AbortController().signal), 7);
});
