// Records llama.cpp's next-token distribution at the last prompt position
// and a greedy continuation for a Gemma 3 GGUF, as JSON on stdout.
//
//   node gemma3_logits.mjs MODEL.gguf '[2, 400, 401, ...]' N_GREEDY N_VOCAB
//
// Output: {"logprobs": [vocab floats], "greedy": [N token ids]}, where
// logprobs are log(p) of llama.cpp's softmax over the whole vocabulary
// (temperature 0 sampler, so p = softmax(logits)); they equal the logits
// up to an additive constant. Runs on the CPU with one thread, flash
// attention off, F16 KV cache (llama.cpp's default).
import {getLlama} from "node-llama-cpp";

const [modelPath, promptJSON, nGreedy, vocabSize] = process.argv.slice(2);
const nVocab = Number(vocabSize);
const prompt = JSON.parse(promptJSON);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: 256, batchSize: 256, threads: 1, flashAttention: false});
const seq = context.getSequence();
let logprobs = null;
const greedy = [];
const it = seq.evaluateWithMetadata(prompt, {probabilities: true}, {temperature: 0});
for await (const out of it) {
    if (logprobs === null) {
        let sum = 0;
        const p = new Array(nVocab).fill(0);
        for (const [tok, prob] of out.probabilities) {
            p[tok] = prob;
            sum += prob;
        }
        logprobs = p.map((x) => Math.log(x / sum));
    }
    greedy.push(out.token);
    if (greedy.length >= Number(nGreedy)) break;
}
process.stdout.write(JSON.stringify({logprobs, greedy}) + "\n");
await context.dispose();
await model.dispose();
