// Records llama.cpp's tokenization of the special-piece vocabularies
// (vocab_retype.gguf, vocab_overlap.gguf, vocab_gemma4.gguf, written by
// go test ./tokenizer -run TestWriteSpecialVocabFiles -update) into
// llamacpp_special.json, for TestLlamaCppSpecialGoldens. It uses the
// node-llama-cpp of tools/llamacpp (see its README):
//
//   (cd tools/llamacpp && npm ci)
//   node testdata/tokenizer/special_goldens.mjs
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const {getLlama, LlamaLogLevel} = await import(
    path.join(here, "../../tools/llamacpp/node_modules/node-llama-cpp/dist/index.js"));

// Texts per file: control-looking pieces, overlapping and nested special
// pieces, and their neighbours.
const TEXTS = {
    "vocab_retype.gguf": [
        "</s>", "a</s>b", "<s>x</s>", "<bos>hi</s><eos>", "<end_of_turn></s><start_of_turn>",
        "<table></s></table>", "<|im_end|> done", "<PRE>code<|fim_suffix|>tail",
        "<|channel|>analysis<|message|>hi", "</s </s>> <</s>", "the </s>end",
    ],
    "vocab_overlap.gguf": [
        "w#x#y#z", "q#r#s", "r#s#q#r", "%%%%%%%%", "%%%%%", "%%%%", "%",
        "%w#x#y#z%%q#r", "<|return|><|call|><|end|>", "a<|end|>b", "<|end|><end_of_turn>",
    ],
    "vocab_gemma4.gguf": ["</s>", "a</s>b", "<|tool_response></s>", "<|tool_response>x",
        "[EMPTY_688][EMPTY_689]", "x[EMPTY_688"],
};

const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const files = {};
for (const [name, texts] of Object.entries(TEXTS)) {
    const model = await llama.loadModel({modelPath: path.join(here, name), vocabOnly: true});
    const cases = [];
    for (const text of texts) {
        for (const special of [false, true]) {
            const ids = Array.from(model.tokenize(text, special));
            cases.push({text, parse_special: special, ids, detokenized: model.detokenize(ids, special)});
        }
    }
    files[name] = {bos: model.tokens.bos, eos: model.tokens.eos, cases};
    await model.dispose();
}
// One case per line, as in llamacpp.json.
const lines = [`{"llama_cpp": ${JSON.stringify(llama.llamaCppRelease)}, "node_llama_cpp": "3.21.1", "files": {`];
const names = Object.keys(files);
names.forEach((name, i) => {
    const {cases, ...rest} = files[name];
    lines.push(` ${JSON.stringify(name)}: {${JSON.stringify(rest).slice(1, -1)}, "cases": [`);
    lines.push(cases.map((c) => "  " + JSON.stringify(c)).join(",\n"));
    lines.push(` ]}${i < names.length - 1 ? "," : ""}`);
});
lines.push("}}");
fs.writeFileSync(path.join(here, "llamacpp_special.json"), lines.join("\n") + "\n");
