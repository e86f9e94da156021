/**
 * Stands in for a package an edge bundle leaves out (onnxruntime-node: a native add-on no
 * edge platform loads; onnxruntime-web: 14–28 MB of WebAssembly, over Supabase's 20 MB
 * bundle limit). Importing it fails, so engine selection reports the engine unavailable
 * and the edge entry uses tfjs-wasm.
 *
 * @module
 */
throw new Error("not included in the edge bundle (see deploy/edge/README.md)");
