// Joins Zerfoo's BenchmarkGemma270m output (-gemma3.files) and llama-bench's
// JSON lines on the same files (several passes: each side's best) into one
// Markdown table: prompt (pp128, or ppN with PROMPT=N) and
// generation (tg64) tokens/s at each thread count, their ratios, Zerfoo's
// decode weight bytes per second against a streaming read of as many bytes
// (the bound; in parentheses the decode's share of a read of the same bytes
// in its matrices' pieces, %pieces), and Zerfoo's peak RSS against the file and KV cache.
//
//   node compare_mixes.mjs ZERFOO.txt LLAMA.jsonl
import {readFileSync} from "node:fs";
import {basename} from "node:path";

const [zfile, lfile] = process.argv.slice(2);
if (!lfile) {
    console.error("usage: node compare_mixes.mjs ZERFOO.txt LLAMA.jsonl");
    process.exit(2);
}
const z = {}; // z[name][key] = value
for (const line of readFileSync(zfile, "utf8").split("\n")) {
    const m = line.match(/^BenchmarkGemma270m\/([^/\s]+)\/(\S+?)-\d+\s/);
    if (!m) continue;
    const [, name, what] = m;
    const rec = (z[name] ??= {});
    const metric = (unit) => {
        const r = line.match(new RegExp(`([0-9.]+) ${unit}(\\s|$)`));
        return r ? Number(r[1]) : undefined;
    };
    if (what === "memory") {
        rec.peak = Math.max(rec.peak ?? 0, metric("peak-MiB"));
        rec.file = metric("file-MiB");
        rec.kv = metric("kv-MiB");
    } else {
        const t = what.match(/threads=(\d+)\/(prompt|decode)/);
        if (!t) continue;
        const key = `${t[2]}${t[1]}`, tps = metric("tokens/s");
        if (rec[key] !== undefined && rec[key] >= tps) continue; // keep the best pass
        rec[key] = tps;
        if (t[2] === "decode") {
            rec[`bound${t[1]}`] = metric("%bound");
            rec[`stream${t[1]}`] = metric("streamGB/s");
            rec[`wgbps${t[1]}`] = metric("weightGB/s");
            rec[`pieces${t[1]}`] = metric("%pieces");
        }
    }
}
const l = {}; // l[name][pp|tg + threads] = avg tokens/s
for (const line of readFileSync(lfile, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    const name = basename(r.model_filename).replace(/\.gguf$/, "");
    const rec = (l[name] ??= {});
    const key = r.n_gen > 0 ? `decode${r.n_threads}` : `prompt${r.n_threads}`;
    rec[key] = Math.max(rec[key] ?? 0, r.avg_ts); // keep the best pass
}
const threads = [...new Set(Object.values(z).flatMap((r) => Object.keys(r)).map((k) => k.match(/^(?:prompt|decode)(\d+)$/)?.[1]).filter(Boolean))].sort();
const f = (x) => (x === undefined ? "–" : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const ratio = (a, b) => (a === undefined || b === undefined ? "–" : `**${(a / b).toFixed(2)}×**`);
let head = "| model |";
let sep = "|---|";
for (const t of threads) {
    head += ` tg T${t} Zerfoo | llama.cpp | ratio | Zerfoo GB/s ÷ stream GB/s (÷ pieces) | pp${process.env.PROMPT || 128} T${t} Zerfoo | llama.cpp | ratio |`;
    sep += "---:|---:|---:|---:|---:|---:|---:|";
}
head += " peak RSS MiB | file MiB | peak ÷ (file + KV) |";
sep += "---:|---:|---:|";
console.log(head);
console.log(sep);
for (const name of Object.keys(z)) {
    const a = z[name], b = l[name] ?? {};
    let row = `| ${name} |`;
    for (const t of threads) {
        row += ` ${f(a[`decode${t}`])} | ${f(b[`decode${t}`])} | ${ratio(a[`decode${t}`], b[`decode${t}`])} |`;
        const pieces = a[`pieces${t}`] === undefined ? "" : ` (${a[`pieces${t}`].toFixed(0)} %)`;
        row += a[`bound${t}`] === undefined ? " – |" : ` ${f(a[`wgbps${t}`])} ÷ ${f(a[`stream${t}`])} = ${a[`bound${t}`].toFixed(0)} %${pieces} |`;
        row += ` ${f(a[`prompt${t}`])} | ${f(b[`prompt${t}`])} | ${ratio(a[`prompt${t}`], b[`prompt${t}`])} |`;
    }
    const bound = a.file !== undefined ? a.file + a.kv : undefined;
    row += ` ${f(a.peak)} | ${f(a.file)} | ${bound ? (a.peak / bound).toFixed(2) : "–"} |`;
    console.log(row);
}
