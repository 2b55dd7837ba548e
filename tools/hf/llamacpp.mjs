// Tokenizes the corpus with llama.cpp itself, on the GGUF vocabulary that
// tokenizer.FromHF builds from the real Gemma 3 tokenizer.json, and
// records where llama.cpp's ids differ from the reference goldens.
//
//   go test ./tokenizer -run TestHFGemma3GGUFPath -hf-gguf /tmp/gemma3-vocab.gguf
//   node tools/hf/llamacpp.mjs /tmp/gemma3-vocab.gguf testdata/hf/gemma3_reference.json testdata/hf/gemma3_llamacpp.json
//
// llama.cpp comes prebuilt with node-llama-cpp, installed by `npm ci` in
// tools/llamacpp (see its README).
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const {getLlama, LlamaLogLevel} = await import(path.join(here, "../llamacpp/node_modules/node-llama-cpp/dist/index.js"));

const [ggufPath, refPath, out] = process.argv.slice(2);
if (!out) {
    console.error("usage: node llamacpp.mjs VOCAB.gguf REFERENCE.json OUT.json");
    process.exit(2);
}
const ref = JSON.parse(fs.readFileSync(refPath, "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: ggufPath, vocabOnly: true});
const differ = [];
let u2581 = 0;
ref.cases.forEach((c, index) => {
    const ids = Array.from(model.tokenize(c.text, true));
    if (ids.length !== c.ids.length || ids.some((x, i) => x !== c.ids[i])) {
        differ.push({index, ids});
        if (c.text.includes("\u2581")) u2581++;
    }
});
await model.dispose();
const lines = differ.map((d) => "  " + JSON.stringify(d));
fs.writeFileSync(out, `{"llama_cpp": ${JSON.stringify(llama.llamaCppRelease.release)}, "node_llama_cpp": "3.21.1", ` +
    `"strings": ${ref.cases.length}, "differ_from_reference": [\n${lines.join(",\n")}\n]}\n`);
console.error(`llama.cpp ${llama.llamaCppRelease.release}: ${ref.cases.length - differ.length} of ${ref.cases.length} identical to the reference; ` +
    `${differ.length} differ (${u2581} of them contain U+2581)`);
