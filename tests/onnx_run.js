// onnx_run.js MODEL INPUT.f32 N C H W OUTPUT.f32 - runs an ONNX model with ONNX Runtime (the
// onnxruntime-node package, CPU) on one float32 NCHW batch and writes the first output as raw
// float32. Part of tests/export_onnx.py, the real-client test of `nnclr export --format onnx`.
const fs = require("fs");
const ort = require("onnxruntime-node");

async function main() {
  const [model, input, n, c, h, w, output] = process.argv.slice(2);
  const dims = [n, c, h, w].map(Number);
  const buf = fs.readFileSync(input);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2 });
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", data, dims) };
  const out = (await session.run(feeds))[session.outputNames[0]];
  fs.writeFileSync(output, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
  console.log(`onnxruntime-node: ${session.outputNames[0]} [${out.dims.join(", ")}]`);
}

main().catch((e) => { console.error(e.message); process.exit(1); });
