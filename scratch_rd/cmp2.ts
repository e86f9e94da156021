import { decodeDicom } from "../src/imaging/decode_dicom.ts";
import { closeCodecWorker } from "../src/imaging/dicom_codec_pool.ts";
const ref = await decodeDicom(Deno.readFileSync("/tmp/rd/rgb8.dcm"), { maxPixels: 1 << 24 });
for (const f of Deno.args) {
  try {
    const y = await decodeDicom(Deno.readFileSync(`/tmp/rd/${f}.dcm`), { maxPixels: 1 << 24 });
    let maxd = 0, sum = 0; for (let i = 0; i < ref.data.length; i++) { const d = Math.abs(ref.data[i] - y.data[i]); sum += d; maxd = Math.max(maxd, d); } console.log("mean", sum / ref.data.length, "first", Array.from(ref.data.slice(300, 306)), Array.from(y.data.slice(300, 306)));
    console.log(f, y.dicom?.photometric, "maxdiff", maxd);
  } catch (e) { console.log(f, "err", (e as Error).message); }
}
closeCodecWorker();
