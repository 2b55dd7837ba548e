// Records llama.cpp's view of GGUF files written by Zerfoo, as goldens for
// Zerfoo's Go tests (see README.md for the whole procedure).
//
//   node goldens.mjs tokenize OUT.json VOCAB.gguf...   token ids of TEXTS
//   node goldens.mjs dequant OUT.json MODEL.gguf...    next-token probabilities
//
// llama.cpp comes prebuilt with node-llama-cpp (CPU build, never compiled).
import fs from "node:fs";
import path from "node:path";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

// Texts tokenized for the tokenizer goldens: ASCII, accents, CJK, emoji,
// runs of spaces and newlines, tabs, special-token strings, byte-token
// look-alikes, a literal ▁, and text outside the vocabulary.
export const TEXTS = [
    "",
    "Hello world",
    "Hello, world! The quick brown fox jumps over the lazy dog.",
    " leading space",
    "trailing space ",
    "  two  spaces   three    four",
    "line one\nline two\n\nline four\n\n\n\nend",
    "\n",
    "\t\ttabs\tand   mixed \n \t whitespace",
    "café naïve résumé à la crème brûlée",
    "Straße Größe Übermut façade",
    "señor año mañana",
    "你好，世界！这是一个测试。",
    "日本語のテキストです",
    "한국어 텍스트",
    "emoji 👋🏽 🎉 🇫🇷 👩‍👩‍👧",
    "mixed: 2024-06-01 12:34 $5.99 100% #tag @user",
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
    "<bos>hello<eos>",
    "<unk> and <pad>",
    "<table><tr>cell</tr></table>",
    "<0x41> is not A",
    "<unused0>",
    "▁ literal lower one eighth block",
    "func main() {\n\tfmt.Println(\"hi\")\n}",
    "the the the thethe",
    "Ω≈ç√∫˜µ≤≥÷",
    "Zerfoo runs Gemma on CPUs.",
];

async function loadLlama() {
    return await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
}

async function tokenize(out, files) {
    const llama = await loadLlama();
    const result = {llama_cpp: llama.llamaCppRelease, node_llama_cpp: "3.21.1", files: {}};
    for (const file of files) {
        const model = await llama.loadModel({modelPath: file, vocabOnly: true});
        const cases = [];
        for (const text of TEXTS) {
            for (const special of [false, true]) {
                const ids = Array.from(model.tokenize(text, special));
                cases.push({text, parse_special: special, ids, detokenized: model.detokenize(ids, special)});
            }
        }
        result.files[path.basename(file)] = {
            bos: model.tokens.bos, eos: model.tokens.eos,
            should_prepend_bos: model.tokens.shouldPrependBosToken ?? null,
            cases,
        };
        await model.dispose();
    }
    // One case per line keeps the golden file small and its diffs readable.
    const lines = [`{"llama_cpp": ${JSON.stringify(result.llama_cpp)}, "node_llama_cpp": "3.21.1", "files": {`];
    const names = Object.keys(result.files);
    names.forEach((name, i) => {
        const {cases, ...rest} = result.files[name];
        lines.push(` ${JSON.stringify(name)}: {${JSON.stringify(rest).slice(1, -1)}, "cases": [`);
        lines.push(cases.map((c) => "  " + JSON.stringify(c)).join(",\n"));
        lines.push(` ]}${i < names.length - 1 ? "," : ""}`);
    });
    lines.push("}}");
    const json = lines.join("\n");
    fs.writeFileSync(out, json + "\n");
}

// dequant evaluates each model (token embedding of one quantized type, zero
// transformer block, identity LM head) on TOKENS and records, per position,
// the log-probabilities of the first N_EMBD tokens relative to token N_EMBD
// (whose logit is 0): these are the model's logits up to float32 softmax
// rounding, i.e. llama.cpp's dequantization of that embedding row, normalized.
const TOKENS = [300, 7, 301, 500];

async function dequant(out, files) {
    const llama = await loadLlama();
    const result = {llama_cpp: llama.llamaCppRelease, tokens: TOKENS, models: {}};
    for (const file of files) {
        const model = await llama.loadModel({modelPath: file, gpuLayers: 0});
        const nEmbd = model.embeddingVectorSize;
        const ctx = await model.createContext({contextSize: 32, batchSize: 32, threads: 1});
        const seq = ctx.getSequence();
        const items = TOKENS.map((t) => [t, {generateNext: {probabilities: true}}]);
        const res = await seq.controlledEvaluate(items);
        const positions = [];
        for (let i = 0; i < TOKENS.length; i++) {
            const probs = res[i].next.probabilities;
            const ref = Math.log(probs.get(nEmbd));
            const lp = [];
            for (let v = 0; v < nEmbd; v++)
                lp.push(Number((Math.log(probs.get(v)) - ref).toPrecision(9)));
            positions.push(lp);
        }
        result.models[path.basename(file)] = positions;
        await ctx.dispose();
        await model.dispose();
    }
    fs.writeFileSync(out, JSON.stringify(result) + "\n");
}

const [cmd, out, ...files] = process.argv.slice(2);
if (cmd === "tokenize") await tokenize(out, files);
else if (cmd === "dequant") await dequant(out, files);
else {
    console.error("usage: node goldens.mjs tokenize|dequant OUT.json FILE.gguf...");
    process.exit(2);
}
