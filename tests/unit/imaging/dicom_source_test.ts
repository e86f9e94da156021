/** Dates and times copied into derived objects: old forms rewritten, invalid ones empty. */
import assert from "node:assert/strict";
import { normaliseDate, normaliseTime } from "../../../src/imaging/dicom_source.ts";

Deno.test("DA: YYYYMMDD kept, ACR-NEMA YYYY.MM.DD and YYYY-MM-DD rewritten, impossible dates empty", () => {
  assert.equal(normaliseDate("19970424"), "19970424");
  assert.equal(normaliseDate("1997.04.24"), "19970424");
  assert.equal(normaliseDate("1997-04-24 "), "19970424");
  for (const bad of ["19971340", "19970230", "1997", "24.04.1997", "abc", "", "1997.0424x"]) {
    assert.equal(normaliseDate(bad), "", bad);
  }
});

Deno.test("TM: HH[MM[SS[.F]]] kept, HH:MM:SS rewritten, invalid empty", () => {
  for (
    const [input, want] of [
      ["112000", "112000"],
      ["11:20:00", "112000"],
      ["11:20", "1120"],
      ["11:20:00.123", "112000.123"],
      ["07", "07"],
      ["235960", "235960"],
      ["112000.123456", "112000.123456"],
    ]
  ) assert.equal(normaliseTime(input), want, input);
  for (const bad of ["25", "1160", "11:2", "1120000", "11.5", "noon", "112000.1234567"]) {
    assert.equal(normaliseTime(bad), "", bad);
  }
});
