import assert from "node:assert/strict";
import {
  clientGone,
  connectionOf,
  connectionTag,
  onClientGone,
  viaFront,
} from "../../../src/server/connections/client_gone.ts";

Deno.test("client_gone: the front's connection number (first value, with the token) and one call per close", () => {
  assert.equal(connectionOf(connectionTag(12)), 12);
  assert.equal(
    connectionOf(`${connectionTag(12)}, ${connectionTag(99)}`),
    12,
    "a client-sent copy comes second and is ignored",
  );
  assert.equal(connectionOf("12"), undefined, "no token: not from the front");
  assert.equal(connectionOf("12;0123456789abcdef0123456789abcdef"), undefined, "a wrong token");
  assert.equal(connectionOf("x"), undefined);
  assert.equal(connectionOf(undefined), undefined);
  assert.equal(viaFront(connectionTag(3)), true);
  assert.equal(viaFront("3"), false);
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
