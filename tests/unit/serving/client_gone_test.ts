import assert from "node:assert/strict";
import {
  clientGone,
  connectionOf,
  onClientGone,
} from "../../../src/server/connections/client_gone.ts";

Deno.test("client_gone: the front's connection number (first value) and one call per close", () => {
  assert.equal(connectionOf("12"), 12);
  assert.equal(connectionOf("12, 99"), 12, "a client-sent copy comes second and is ignored");
  assert.equal(connectionOf("x"), undefined);
  assert.equal(connectionOf(undefined), undefined);
  let calls = 0;
  const off = onClientGone(5, () => calls++);
  const other = onClientGone(6, () => calls += 100);
  other();
  clientGone(6);
  clientGone(5);
  clientGone(5);
  off();
  assert.equal(calls, 1);
});
