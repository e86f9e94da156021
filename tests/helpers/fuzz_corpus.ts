/**
 * A seeded corpus of malformed requests for the fuzz test: truncated and corrupt PNG/JPEG,
 * decompression bombs (tiny file, huge declared size), wrong content types, random bytes,
 * malformed multipart, malformed V2 JSON and binary framing, huge shapes, NaN tensors,
 * unknown and path-traversal model names, bad query parameters, oversized bodies; and
 * broken compressed/encapsulated DICOM of every transfer syntax ({@link dicomFuzzCases},
 * in `fuzz_dicom.ts`: its valid seeds are made with dcmtk, so they are built once, async).
 * Every case is something a correct server must refuse with a 4xx JSON error.
 *
 * The same seed gives the same cases, so a failure names its seed and index and
 * reproduces with `TINYUNET_FUZZ_SEED=<seed>`.
 *
 * @module
 */
import { deflateSync } from "node:zlib";
import { seededRandom } from "../../lib/onnx_builder.ts";
import { type Bytes, makeJpeg, makePng } from "./images.ts";

export { dicomFuzzCases, dicomFuzzSeeds, type DicomSeed } from "./fuzz_dicom.ts";

/** One malformed request. */
export interface FuzzCase {
  /** generator name (what kind of garbage) */
  kind: string;
  /** short description for failure messages */
  note: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Bytes;
}

/** Limits the corpus is built against (the server under test must use them). */
export const FUZZ_LIMITS = { maxPixels: 1_000_000, maxBodyBytes: 256 * 1024 };

const enc = new TextEncoder();
const bytes = (s: string): Bytes => enc.encode(s) as Bytes;

/** CRC-32 as PNG chunks use it. */
function crc32(data: Uint8Array): number {
  let c = ~0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(enc.encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out as Bytes;
}

const PNG_SIGNATURE = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);

/** A PNG whose IHDR says `width`×`height` but whose pixel data is `idat` (a bomb when small). */
export function declaredPng(
  width: number,
  height: number,
  idat: Uint8Array,
  colorType = 2,
  depth = 8,
): Bytes {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width >>> 0);
  v.setUint32(4, height >>> 0);
  ihdr.set([depth, colorType, 0, 0, 0], 8);
  return concat(
    PNG_SIGNATURE,
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array()),
  );
}

/** A JPEG whose SOF0 says `width`×`height` with no real scan behind it. */
export function declaredJpeg(width: number, height: number): Bytes {
  const sof = [
    0xff,
    0xc0,
    0,
    17,
    8,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    3,
    1,
    0x11,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ];
  return new Uint8Array([
    0xff,
    0xd8,
    ...sof,
    0xff,
    0xda,
    0,
    12,
    3,
    1,
    0,
    2,
    0x11,
    3,
    0x11,
    0,
    63,
    0,
    1,
    2,
    3,
    0xff,
    0xd9,
  ]) as Bytes;
}

/** Offset just after the last IDAT chunk's header (where compressed pixels start). */
function idatDataOffset(png: Uint8Array): number {
  let o = 8;
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  while (o + 8 <= png.length) {
    const len = v.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    if (type === "IDAT") return o + 8;
    o += 12 + len;
  }
  throw new Error("no IDAT");
}

/** Offset of the JPEG's start-of-scan marker. */
function sosOffset(jpg: Uint8Array): number {
  for (let i = 2; i + 1 < jpg.length; i++) if (jpg[i] === 0xff && jpg[i + 1] === 0xda) return i;
  throw new Error("no SOS");
}

/** Builds `count` cases from `seed` (all at once; see {@link fuzzCases} for a lazy stream). */
export function fuzzCorpus(seed: number, count: number): FuzzCase[] {
  return [...fuzzCases(seed, count)];
}

/** Yields `count` cases from `seed`, one at a time (long runs hold no corpus in memory). */
export function* fuzzCases(seed: number, count: number): Generator<FuzzCase> {
  const rnd = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => int(0, 255)) as Bytes;
  const word = () => Math.floor(rnd() * 2 ** 40).toString(36);

  // a few valid images to break
  const pngs = [makePng(16, 16, 3), makePng(40, 24, 1), makePng(33, 17, 4), makePng(20, 20, 2, 16)];
  const jpegs = [makeJpeg(24, 16), makeJpeg(48, 40, 60)];
  const bomb = declaredPng(1100, 1000, deflateSync(new Uint8Array(1000 * (1100 * 3 + 1)))); // 1.1 Mpx of zeros in ~3 KB
  const segmentPaths = [
    "/v1/segment",
    "/v1/models/lesion/segment",
    "/v1/models/lesion/versions/1/segment",
  ];
  const imageTypes = [
    "image/png",
    "image/jpeg",
    "application/octet-stream",
    "",
    "application/dicom",
  ];
  const segment = (
    body: Bytes,
    type: string,
    note: string,
    kind: string,
    path = pick(segmentPaths),
  ): FuzzCase => ({
    kind,
    note,
    method: "POST",
    path,
    headers: type ? { "content-type": type } : {},
    body,
  });
  const v2 = (
    body: Bytes | string,
    note: string,
    kind: string,
    headers: Record<string, string> = {},
  ): FuzzCase => ({
    kind,
    note,
    method: "POST",
    path: pick(["/v2/models/lesion/infer", "/v2/models/lesion/versions/1/infer"]),
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? bytes(body) : body,
  });
  const goodInput = () => ({
    name: "image",
    datatype: "FP32",
    shape: [1, 3, 16, 16],
    data: Array.from({ length: 768 }, () => rnd()),
  });

  const generators: Record<string, () => FuzzCase> = {
    png_truncated: () => {
      const png = pick(pngs);
      const cut = int(0, idatDataOffset(png) + 4);
      return segment(
        png.slice(0, cut) as Bytes,
        pick(["image/png", ""]),
        `PNG cut at ${cut}/${png.length}`,
        "png_truncated",
      );
    },
    png_corrupt_header: () => {
      const png = pick(pngs).slice() as Bytes;
      const field = pick(["width0", "height0", "depth", "color", "interlace", "zlib"] as const);
      if (field === "width0") png.set([0, 0, 0, 0], 16);
      else if (field === "height0") png.set([0, 0, 0, 0], 20);
      else if (field === "depth") png[24] = pick([0, 3, 5, 7, 9, 32, 255]);
      else if (field === "color") png[25] = pick([1, 5, 7, 8, 255]);
      else if (field === "interlace") png[28] = int(2, 255);
      else png.set([int(0, 255) | 0x0f, 0xff], idatDataOffset(png)); // an invalid zlib header
      return segment(png, "image/png", `PNG with a bad ${field}`, "png_corrupt_header");
    },
    png_bomb: () => {
      const w = pick([1_000_000, 65_535, 2 ** 31 - 1, 4_294_967_295, 50_000]);
      const h = pick([1_000_000, 65_535, 2 ** 31 - 1, 40_000]);
      return segment(
        declaredPng(w, h, deflateSync(randomBytes(int(0, 64)))),
        "image/png",
        `PNG declaring ${w}×${h}`,
        "png_bomb",
      );
    },
    zlib_bomb: () =>
      segment(bomb, "image/png", "1.1 Mpx of zeros deflated to a few KB", "zlib_bomb"),
    jpeg_truncated: () => {
      const jpg = pick(jpegs);
      const cut = int(0, sosOffset(jpg) - 1);
      return segment(
        jpg.slice(0, cut) as Bytes,
        pick(["image/jpeg", ""]),
        `JPEG cut at ${cut} (before its scan)`,
        "jpeg_truncated",
      );
    },
    jpeg_bomb: () => {
      const w = pick([65_535, 30_000, 1_001]), h = pick([65_535, 20_000, 1_001]);
      return segment(declaredJpeg(w, h), "image/jpeg", `JPEG declaring ${w}×${h}`, "jpeg_bomb");
    },
    wrong_content_type: () => {
      const [body, type] = pick(
        [
          [pick(pngs), "image/jpeg"],
          [pick(jpegs), "image/png"],
          [
            pick(pngs),
            pick([
              "text/plain",
              "image/gif",
              "image/webp",
              "application/json",
              "application/x-www-form-urlencoded",
              "video/mp4",
            ]),
          ],
          [pick(jpegs), "application/dicom"],
        ] as const,
      );
      return segment(body, type, `${type} header on other bytes`, "wrong_content_type");
    },
    random_bytes: () => {
      const body = randomBytes(int(0, 2048));
      body[0] = int(0, 0xfe); // never a JPEG/PNG signature by chance
      return segment(body, pick(imageTypes), `${body.length} random bytes`, "random_bytes");
    },
    multipart_malformed: () => {
      const boundary = `----fuzz${word()}`;
      const good = pick(pngs);
      const variants: [string, string | Bytes][] = [
        [
          `multipart/form-data; boundary=${boundary}`,
          `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n`,
        ],
        [
          `multipart/form-data; boundary=${boundary}`,
          `--${boundary}\r\nContent-Disposition: form-data; name="other"\r\n\r\nhello\r\n--${boundary}--\r\n`,
        ],
        [
          `multipart/form-data; boundary=${boundary}`,
          `--${boundary}\r\nContent-Disposition: form-data; name="image"\r\n\r\nnot a file\r\n--${boundary}--\r\n`,
        ],
        ["multipart/form-data", `--${boundary}\r\n\r\n`],
        [`multipart/form-data; boundary=${boundary}`, `garbage ${word()} without any boundary`],
        [
          `multipart/form-data; boundary=${boundary}`,
          concat(
            bytes(
              `--wrong${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`,
            ),
            good,
            bytes(`\r\n--wrong${boundary}--\r\n`),
          ),
        ],
        [
          `multipart/form-data; boundary=${boundary}`,
          concat(
            bytes(
              `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`,
            ),
            randomBytes(int(1, 300)),
            bytes(`\r\n--${boundary}--\r\n`),
          ),
        ],
        [
          `multipart/form-data; boundary=${boundary}`,
          concat(
            bytes(
              `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`,
            ),
            good.slice(0, int(0, 40)),
            bytes(`\r\n--${boundary}--\r\n`),
          ),
        ],
        [`multipart/form-data; boundary="${"b".repeat(int(71, 200))}"`, "--x\r\n"],
        [`multipart/form-data; boundary=${boundary}`, randomBytes(int(0, 500))],
      ];
      const [type, body] = pick(variants);
      return segment(
        typeof body === "string" ? bytes(body) : body,
        type,
        `multipart: ${type.slice(0, 40)} / ${String(body).slice(0, 40)}`,
        "multipart_malformed",
      );
    },
    v2_json_malformed: () => {
      const input = goodInput();
      const variants: (() => string)[] = [
        () => word() + "{",
        () =>
          JSON.stringify(
            pick([null, 1, "x", [], true, {}, { inputs: null }, { inputs: {} }, { inputs: [] }, {
              inputs: [1],
            }, { inputs: [null] }]),
          ),
        () => JSON.stringify({ inputs: [{ ...input, name: word() }] }),
        () =>
          JSON.stringify({
            inputs: [{ ...input, datatype: pick(["INT64", "FP16", "BYTES", "fp32", "", 3, null]) }],
          }),
        () =>
          JSON.stringify({
            inputs: [{
              ...input,
              shape: pick([
                [1, 3, 1e9, 1e9],
                [-1, 3, 16, 16],
                [1, 3, 16.5, 16],
                [1, 3, "16", 16],
                [],
                "big",
                [1, 3, 2 ** 53, 1],
                Array(20).fill(1),
                [1, 3, 0, 16],
              ]),
            }],
          }),
        () => JSON.stringify({ inputs: [{ ...input, data: input.data.slice(0, int(0, 700)) }] }),
        () => {
          const at = int(0, 767), bad = pick(["NaN", null, "1", {}, [], true]);
          return JSON.stringify({
            inputs: [{ ...input, data: input.data.map((v, i) => (i === at ? bad : v)) }],
          });
        },
        () => JSON.stringify({ inputs: [{ ...input, data: undefined }] }),
        () => JSON.stringify({ inputs: [input, input] }),
        () =>
          JSON.stringify({
            inputs: [input],
            outputs: pick([[{ name: word() }], "x", [null], [{ name: 3 }], {}, 7]),
          }),
        () => JSON.stringify({ inputs: [input], parameters: pick(["x", [1], 3]) }),
        () =>
          JSON.stringify({
            inputs: [{ ...input, parameters: { binary_data_size: int(1, 9999) } }],
          }),
        () =>
          `{"inputs":[{"name":"image","datatype":"FP32","shape":[1,3,16,16],"data":${
            "[".repeat(int(10, 3000))
          }1${"]".repeat(int(10, 3000))}}]}`,
        () =>
          JSON.stringify({
            inputs: [{ ...input, data: input.data.map(() => pick([1e39, -1e39])) }],
          }).replace(/"data":\[[^\]]*\]/, `"data":[${"1e999,".repeat(767)}1e999]`),
        () => "\uFEFF" + JSON.stringify({ inputs: [input] }).slice(0, int(1, 100)),
      ];
      return v2(pick(variants)(), "malformed V2 JSON", "v2_json_malformed");
    },
    v2_binary_malformed: () => {
      const x = new Float32Array(768).map(() => rnd());
      const header = (size: number) =>
        bytes(
          JSON.stringify({
            inputs: [{
              name: "image",
              datatype: "FP32",
              shape: [1, 3, 16, 16],
              parameters: { binary_data_size: size },
            }],
          }),
        );
      const variant = int(0, 6);
      const h = header(variant === 3 ? int(0, 3071) : variant === 4 ? 3072 * 2 : 3072);
      const tail = new Uint8Array(x.buffer).slice(0, variant === 5 ? int(0, 3071) : 3072);
      const body = concat(h, tail);
      const length = variant === 0
        ? pick(["abc", "-1", "1e3", "0", "", "NaN", " 12"])
        : variant === 1
        ? String(body.length + int(1, 1e6))
        : variant === 2
        ? String(int(1, h.length - 1))
        : String(h.length);
      if (variant === 6) body[int(0, h.length - 1)] = 0xff; // invalid UTF-8 in the JSON header
      return v2(
        body,
        `binary framing variant ${variant}, header length "${length}"`,
        "v2_binary_malformed",
        { "content-type": "application/octet-stream", "inference-header-content-length": length },
      );
    },
    nan_tensor: () => {
      const data = Array.from({ length: 768 }, () => rnd());
      const json = JSON.stringify({
        inputs: [{ name: "image", datatype: "FP32", shape: [1, 3, 16, 16], data }],
      });
      const bad = pick(["NaN", "Infinity", "-Infinity", "1e400", '"NaN"', "null"]);
      return v2(json.replace(/\d\.\d+/, bad), `tensor value ${bad}`, "nan_tensor");
    },
    huge_shape: () => {
      const dims = pick([[1, 3, 100_000, 100_000], [1, 3, 65_536, 65_536], [1, 3, 4096, 4096], [
        1000,
        3,
        16,
        16,
      ], [1, 3, 2 ** 31, 2]]);
      return v2(
        JSON.stringify({ inputs: [{ name: "image", datatype: "FP32", shape: dims, data: [] }] }),
        `shape ${dims}`,
        "huge_shape",
      );
    },
    unknown_model: () => {
      // (a bare ".." is left out: the URL parser resolves it to another, valid, path)
      const name = pick([
        word(),
        "../x",
        "..%2Fx",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "..%5c..%5cwindows",
        "lesion%00",
        "x".repeat(int(200, 5000)),
        "%F0%9F%92%A9",
        "lesion/../../etc",
        "%252e%252e",
        ".hidden",
      ]);
      const [method, path, body, type] = pick(
        [
          ["POST", `/v1/models/${name}/segment`, pick(pngs), "image/png"],
          ["POST", `/v1/models/lesion/versions/${name}/segment`, pick(pngs), "image/png"],
          ["GET", `/v1/models/${name}`, undefined, ""],
          ["GET", `/v2/models/${name}/ready`, undefined, ""],
          [
            "POST",
            `/v2/models/${name}/infer`,
            bytes(JSON.stringify({ inputs: [goodInput()] })),
            "application/json",
          ],
          ["POST", `/v2/repository/models/${name}/load`, undefined, ""],
          ["POST", `/v2/repository/models/${name}/unload`, undefined, ""],
        ] as const,
      );
      const headers: Record<string, string> = type ? { "content-type": type } : {};
      return {
        kind: "unknown_model",
        note: `model name ${name.slice(0, 60)}`,
        method,
        path,
        headers,
        body,
      };
    },
    bad_query: () => {
      const q = pick([
        `format=${pick(["gif", "PNG ", "", "json,png", word(), "%00"])}`,
        `precision=${pick(["fp64", "int4", "FP32", word()])}`,
        `precision=int8`, // the fixture has no int8 file
        `opacity=${pick(["2", "-1", "NaN", "abc", "1e309", "1.5"])}&format=overlay`,
        `frame=${pick(["0", "-3", "x", "1.5", "99999999999999999999"])}`,
        `window=${pick(["x", "1", "1,2,3", ",", "NaN,NaN", "40,-5"])}`,
      ]).replace(/^format=$/, "format=%20");
      return segment(
        pick(pngs),
        "image/png",
        `query ${q}`,
        "bad_query",
        `${pick(segmentPaths)}?${q}`,
      );
    },
    bad_method_or_path: () => {
      const [method, path] = pick(
        [
          ["GET", "/v1/segment"],
          ["PUT", "/v2/models/lesion/infer"],
          ["DELETE", "/v2/models/lesion"],
          ["PATCH", "/v1/models"],
          ["POST", `/${word()}/${word()}`],
          ["GET", `/v2/models/lesion/versions/${word()}`],
          ["GET", `/v2/repository/models/lesion/load`],
          ["POST", "/v2/health/live/../../../etc/passwd"],
          ["GET", `/static/${"..%2f".repeat(int(1, 10))}etc/passwd`],
        ] as const,
      );
      return {
        kind: "bad_method_or_path",
        note: `${method} ${path.slice(0, 60)}`,
        method,
        path,
        headers: {},
        body: method === "GET" ? undefined : bytes("{}"),
      };
    },
    too_large: () => {
      const body = new Uint8Array(FUZZ_LIMITS.maxBodyBytes + int(1, 65_536)) as Bytes;
      body.set(pick(pngs));
      return pick([
        segment(body, "image/png", `${body.length}-byte PNG body`, "too_large"),
        v2(body, `${body.length}-byte V2 body`, "too_large"),
      ]);
    },
  };

  const kinds = Object.keys(generators);
  for (let i = 0; i < count; i++) yield generators[kinds[i % kinds.length]]();
}
