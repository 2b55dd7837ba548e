// Measures llama.cpp's prompt and generation speed on Gemma 3 GGUF files,
// mirroring Zerfoo's BenchmarkGemma270m (models/gemma3/bench270m_test.go).
//
//   node bench_gemma3.mjs [--threads 1,2] [--reps 3] [--compare ZERFOO.txt] MODEL.gguf...
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
//
// With --compare, ZERFOO.txt is the output of Zerfoo's BenchmarkGemma270m
// on the same files; a Markdown table of both and their ratios follows the
// JSON lines (tools/llamacpp/bench_gemma3.sh runs the whole comparison).
import {readFileSync} from "node:fs";
import {basename} from "node:path";
import {getLlama} from "node-llama-cpp";

const PROMPT = 128;
const GEN = 64;
const CTX = 512;

let threadList = [1, 2];
let reps = 3;
let compare = null;
const models = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
    if (args[i] === "--threads") threadList = args[++i].split(",").map(Number);
    else if (args[i] === "--reps") reps = Number(args[++i]);
    else if (args[i] === "--compare") compare = args[++i];
    else models.push(args[i]);
}
if (models.length === 0) {
    console.error("usage: node bench_gemma3.mjs [--threads 1,2] [--reps 3] [--compare ZERFOO.txt] MODEL.gguf...");
    process.exit(2);
}

// Same prompt as benchPromptTokens in bench270m_test.go.
const prompt = [2];
for (let i = 0; prompt.length < PROMPT; i++) prompt.push(363 + (i * 37) % 190);

const results = [];
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
        const res = {model: modelPath, threads, prompt_tps: bestPrompt, gen_tps: bestGen,
            prompt_cpu_tps: cpuPrompt, gen_cpu_tps: cpuGen, rss_mib: rss};
        results.push(res);
        console.log(JSON.stringify(res));
        await context.dispose();
    }
    await model.dispose();
}

if (compare !== null) {
    // BenchmarkGemma270m/Q4_0/threads=1/prompt-2  N  ns/op  X tokens/cpu-s  Y tokens/s
    const z = {};
    for (const line of readFileSync(compare, "utf8").split("\n")) {
        const m = line.match(/Gemma270m\/(\w+)\/threads=(\d+)\/(prompt|decode)\S*\s/);
        if (!m) continue;
        const wall = line.match(/([\d.]+) tokens\/s/), cpu = line.match(/([\d.]+) tokens\/cpu-s/);
        z[`${m[1]}/${m[2]}/${m[3]}`] = {wall: Number(wall?.[1]), cpu: Number(cpu?.[1])};
    }
    const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : "–");
    const r = (a, b) => (Number.isFinite(a) && b > 0 ? (a / b).toFixed(2) + "×" : "–");
    console.log("\n| type | threads | phase | Zerfoo tok/s | llama.cpp tok/s | ratio | Zerfoo tok/CPU-s | llama.cpp tok/CPU-s | ratio |");
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const res of results) {
        const type = basename(res.model).match(/(Q4_0|Q8_0|Q4_K|F16|F32)/)?.[1] ?? basename(res.model);
        for (const [phase, wall, cpu] of [["prompt", res.prompt_tps, res.prompt_cpu_tps], ["decode", res.gen_tps, res.gen_cpu_tps]]) {
            const zz = z[`${type}/${res.threads}/${phase}`] ?? {};
            console.log(`| ${type} | ${res.threads} | ${phase} | ${f(zz.wall)} | ${f(wall)} | ${r(zz.wall, wall)} | ${f(zz.cpu)} | ${f(cpu)} | ${r(zz.cpu, cpu)} |`);
        }
    }
}
