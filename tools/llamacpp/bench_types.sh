#!/bin/sh
# Per weight type: Zerfoo's fused matmul (`zerfoo bench gguf`) against
# llama.cpp's `test-backend-ops perf -o MUL_MAT` on its m=4096, k=14336 case
# at n=1 (GEMV) and n=512 (GEMM), GFLOP/s, and a Markdown table of both and
# their ratios. test-backend-ops uses all cores; Zerfoo is measured at 1 and
# at all threads.
#
#   tools/llamacpp/bench_types.sh LLAMA_BIN_DIR [TYPES]
#
# TYPES defaults to every type with a fused kernel. On a shared machine,
# ROUNDS=N (default 1) alternates llama.cpp and Zerfoo N times per type and
# reports the median of each figure (the load changes from minute to
# minute: a ratio of two runs minutes apart means little); NS="1" measures
# only the GEMV case (default "1 512").
set -eu
bin=$(cd "${1:?usage: bench_types.sh LLAMA_BIN_DIR [TYPES]}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
types=${2:-"F16 BF16 Q4_0 Q8_0 Q4_1 Q5_0 Q5_1 IQ4_NL Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_XS"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
env -u GODEBUG go build -o "$tmp/zerfoo" ./cmd/zerfoo # GODEBUG (a tier's cpu.* settings) is for the runs: see bench_mixes.sh
all=$(nproc)
rounds=${ROUNDS:-1}
ns=${NS:-"1 512"}
nre=$(echo "$ns" | tr ' ' '|')
for round in $(seq "$rounds"); do
for t in $types; do
	lt=$(echo "$t" | tr 'A-Z' 'a-z' | sed 's/_k$/_K/') # ggml's type names (q4_K)
	echo "round $round $t: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	"$bin/test-backend-ops" perf -o MUL_MAT -b CPU -p "type_a=$lt,type_b=f32,m=4096,n=($nre),k=14336," 2>&1 |
		sed -n "s/.*type_a=$lt,type_b=f32,m=4096,n=\([0-9]*\),k=14336,.*[m ]\([0-9.][0-9.]*\) \(G\|T\)FLOPS.*/llama $t \1 \2 \3/p" >>"$tmp/llama.txt"
	for m in $ns; do
		for th in 1 $all; do
			printf 'zerfoo %s %s %s ' "$t" "$m" "$th" >>"$tmp/zerfoo.txt"
			"$tmp/zerfoo" bench gguf --type "$t" --m "$m" --k 14336 --n 4096 --threads "$th" --min-time 2s --json >>"$tmp/zerfoo.txt"
		done
	done
done
done
node - "$tmp/llama.txt" "$tmp/zerfoo.txt" "$all" <<'JS'
const fs = require("node:fs");
const [lfile, zfile, all] = process.argv.slice(2);
const l = {}, z = {};
const push = (o, k, v) => (o[k] ??= []).push(v);
for (const line of fs.readFileSync(lfile, "utf8").split("\n")) {
    const m = line.match(/^llama (\S+) (\d+) ([0-9.]+) (G|T)/);
    if (m) push(l, `${m[1]} ${m[2]}`, Number(m[3]) * (m[4] === "T" ? 1000 : 1));
}
for (const line of fs.readFileSync(zfile, "utf8").split("\n")) {
    const m = line.match(/^zerfoo (\S+) (\d+) (\d+) (\{.*\})$/);
    if (m) push(z, `${m[1]} ${m[2]} ${m[3]}`, JSON.parse(m[4]));
}
// The median of each figure over the rounds.
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const k in l) l[k] = med(l[k]);
for (const k in z) {
    const rs = z[k];
    z[k] = { gflops: med(rs.map((r) => r.gflops)), gbps: med(rs.map((r) => r.gbps)) };
}
const types = [...new Set(Object.keys(z).map((k) => k.split(" ")[0]))];
console.log(`| type | n | llama.cpp (${all} threads) GFLOP/s | Zerfoo T1 | ratio | Zerfoo T${all} | ratio | Zerfoo T${all} weight GB/s |`);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
for (const t of types) {
    for (const n of process.env.NS ? process.env.NS.split(" ").map(Number) : [1, 512]) {
        const ll = l[`${t} ${n}`], z1 = z[`${t} ${n} 1`], za = z[`${t} ${n} ${all}`];
        const r = (a) => (a && ll ? `**${(a.gflops / ll).toFixed(2)}×**` : "–");
        console.log(`| ${t} | ${n} | ${ll?.toFixed(1) ?? "–"} | ${z1?.gflops.toFixed(1) ?? "–"} | ${r(z1)} | ${za?.gflops.toFixed(1) ?? "–"} | ${r(za)} | ${za?.gbps.toFixed(1) ?? "–"} |`);
    }
}
JS
