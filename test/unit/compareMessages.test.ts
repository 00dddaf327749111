// The Compare panel's next-token request carries the lists' temperature (one slider for both sides),
// checked like every panel message: optional, and within what the engine takes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCompareMessage } from "../../protocol/compare";

test("getNextToken: the temperature is optional and bounded", () => {
  const ask = { type: "getNextToken", requestId: 3, side: 1, position: 4, topK: 10 };
  assert.equal(parseCompareMessage(ask).ok, true);
  const warm = parseCompareMessage({ ...ask, temperature: 2 });
  assert.ok(warm.ok && warm.message.type === "getNextToken" && warm.message.temperature === 2);
  assert.equal(parseCompareMessage({ ...ask, temperature: 0 }).ok, false);
  assert.equal(parseCompareMessage({ ...ask, temperature: 11 }).ok, false);
  assert.equal(parseCompareMessage({ ...ask, temperature: "2" }).ok, false);
});
