// Measures llama.cpp's prompt and generation speed on Gemma 3 GGUF files,
// mirroring Zerfoo's BenchmarkGemma270m (models/gemma3/bench270m_test.go).
//
//   node bench_gemma3.mjs [--threads 1,2] [--reps 3] MODEL.gguf...
//
// For each model and thread count: a 128-token prompt (BOS then vocabulary
// words, one batch) evaluated without generating (prompt tokens/s), then
// 64 greedily generated tokens (generation tokens/s: llama_decode of one
// token plus the temperature-0 sampler), context 512, flash attention off,
// F16 KV cache (llama.cpp's defaults). Each measurement is repeated --reps
// times on a cleared sequence and the best is kept. Prints one JSON line
// per model and thread count:
//   {"model": ..., "threads": 1, "prompt_tps": ..., "gen_tps": ...,
//    "prompt_cpu_tps": ..., "gen_cpu_tps": ..., "rss_mib": ...}
// where *_cpu_tps are tokens per second of process CPU time (user +
// system, all threads): on a machine shared with other work they measure
// the code rather than its share of the cores (meaningful for 1 thread).
//
// Note: through node-llama-cpp each multi-threaded decode call builds a
// throwaway ggml thread pool (~12 ms, gguf.md §8), so llama.cpp's 2-thread
// generation speed here understates llama.cpp itself; compare 1-thread
// generation and prompt speeds.
import {getLlama} from "node-llama-cpp";

const PROMPT = 128;
const GEN = 64;
const CTX = 512;

let threadList = [1, 2];
let reps = 3;
const models = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
    if (args[i] === "--threads") threadList = args[++i].split(",").map(Number);
    else if (args[i] === "--reps") reps = Number(args[++i]);
    else models.push(args[i]);
}
if (models.length === 0) {
    console.error("usage: node bench_gemma3.mjs [--threads 1,2] [--reps 3] MODEL.gguf...");
    process.exit(2);
}

// Same prompt as benchPromptTokens in bench270m_test.go.
const prompt = [2];
for (let i = 0; prompt.length < PROMPT; i++) prompt.push(363 + (i * 37) % 190);

const llama = await getLlama({gpu: false, build: "never", logLevel: "error", maxThreads: Math.max(...threadList)});
for (const modelPath of models) {
    const model = await llama.loadModel({modelPath, useMmap: true});
    for (const threads of threadList) {
        const context = await model.createContext({
            contextSize: CTX, batchSize: PROMPT, threads: {ideal: threads, min: threads}, flashAttention: false,
        });
        const seq = context.getSequence();
        let bestPrompt = 0, bestGen = 0, cpuPrompt = 0, cpuGen = 0;
        for (let r = 0; r < reps + 1; r++) { // the first round warms up
            await seq.clearHistory();
            let c0 = process.cpuUsage();
            let t0 = process.hrtime.bigint();
            await seq.evaluateWithoutGeneratingNewTokens(prompt);
            let dt = Number(process.hrtime.bigint() - t0) / 1e9;
            let c = process.cpuUsage(c0);
            if (r > 0) {
                bestPrompt = Math.max(bestPrompt, PROMPT / dt);
                cpuPrompt = Math.max(cpuPrompt, PROMPT / ((c.user + c.system) / 1e6));
            }

            await seq.clearHistory();
            await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, 15));
            let n = 0;
            c0 = process.cpuUsage();
            t0 = process.hrtime.bigint();
            for await (const tok of seq.evaluate([prompt[15]], {temperature: 0})) {
                if (++n >= GEN) break;
            }
            dt = Number(process.hrtime.bigint() - t0) / 1e9;
            c = process.cpuUsage(c0);
            if (r > 0) {
                bestGen = Math.max(bestGen, n / dt);
                cpuGen = Math.max(cpuGen, n / ((c.user + c.system) / 1e6));
            }
        }
        const rss = process.resourceUsage().maxRSS / 1024;
        console.log(JSON.stringify({model: modelPath, threads, prompt_tps: bestPrompt, gen_tps: bestGen,
            prompt_cpu_tps: cpuPrompt, gen_cpu_tps: cpuGen, rss_mib: rss}));
        await context.dispose();
    }
    await model.dispose();
}
