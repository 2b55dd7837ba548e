// The mixed test corpus for tokenizer.FromHF: fixed cases for every kind
// of text the Gemma 3 tokenizer treats specially, then seeded random
// mixtures of them. Deterministic: the same strings on every run.

// Fragments by kind. Each entry is a whole string; the random part below
// joins several of them with separators.
const prose = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! How are you doing today?",
    "It's a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
    "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL",
    "Mr. Smith went to Washington D.C. on Jan. 5th, 2024 at 3:45 p.m.",
    "e.g., i.e., etc., vs. — and the em-dash… or ellipsis.",
    "UPPERCASE lowercase MiXeD CaSe camelCase snake_case kebab-case PascalCase",
    "Zerfoo runs Gemma 3 models from GGUF files on ordinary CPUs.",
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
];
const code = [
    "func main() {\n\tfmt.Println(\"hello, 世界\")\n}",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "for (let i = 0; i < arr.length; i++) { console.log(arr[i] ?? null); }",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
    "SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY id DESC LIMIT 10;",
    "<div class=\"container\"><p>Hello <b>world</b></p></div>",
    "{\"key\": [1, 2.5, -3e10, true, null], \"nested\": {\"a\": \"b\"}}",
    "$ ls -la /usr/local/bin | grep -E '^-rwx' && echo \"done\" >&2",
    "x := make([]float32, n) // allocate\nfor i := range x {\n\t\tx[i] = float32(i) * 0.5\n\t}",
    "fn main() -> Result<(), Box<dyn Error>> { let v: Vec<u8> = vec![0; 16]; Ok(()) }",
    "@@ -1,3 +1,4 @@\n-old line\n+new line\n+another\n context",
    "import numpy as np\narr = np.zeros((3, 4), dtype=np.float32)\nprint(arr.T @ arr)",
    "    if err != nil {\n        return nil, fmt.Errorf(\"open %s: %w\", path, err)\n    }",
    "a=1;b=2;c=a+b;d=c*2/3%4^5&6|7~8<<9>>10",
    "https://example.com/path/to/page?query=value&other=123#fragment",
    "user.name+tag@example.co.uk",
    "C:\\Users\\Admin\\Documents\\file (1).txt",
    "| col1 | col2 |\n|------|------|\n| a    | b    |",
    "# Heading\n\n* item one\n* item **bold** and _italic_\n\n```go\nx := 1\n```",
    "\\begin{equation} E = mc^2 \\int_0^\\infty e^{-x^2} dx = \\frac{\\sqrt{\\pi}}{2} \\end{equation}",
];
const scripts = [
    "café naïve résumé à la crème brûlée, déjà vu",
    "Straße Größe Übermut façade œuvre Ærøskøbing",
    "señor año mañana ¿Qué tal? ¡Hola!",
    "Привет, мир! Как дела? Съешь же ещё этих мягких французских булок.",
    "Γειά σου Κόσμε! Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "مرحبا بالعالم! كيف حالك اليوم؟",
    "שלום עולם! מה שלומך?",
    "नमस्ते दुनिया! आप कैसे हैं?",
    "হ্যালো বিশ্ব! আপনি কেমন আছেন?",
    "வணக்கம் உலகம்! நீங்கள் எப்படி இருக்கிறீர்கள்?",
    "สวัสดีชาวโลก! คุณเป็นอย่างไรบ้าง?",
    "កាន់តែពិសេសអាច ជំរាបសួរពិភពលោក",
    "你好，世界！这是一个测试。我想在apple工作1314151天～",
    "日本語のテキストです。カタカナとひらがな、漢字。",
    "안녕하세요 세계! 한국어 텍스트입니다.",
    "გამარჯობა მსოფლიო! Բարեւ աշխարհ!",
    "ሰላም ለዓለም! ᓀᐦᐃᔭᐍᐏᐣ ᏣᎳᎩ",
    "Tiếng Việt có dấu: Xin chào thế giới! Đường phố.",
    "Türkçe: İstanbul, ığdır, şeker, çiçek, öğrenci, ümit.",
    "Polski: Zażółć gęślą jaźń. Čeština: Příliš žluťoučký kůň.",
    "नमस्ते ਸਤ ਸ੍ਰੀ ਅਕਾਲ ગુજરાતી ಕನ್ನಡ മലയാളം తెలుగు ଓଡ଼ିଆ",
    "ᚠᛇᚻ᛫ᛒᛦᚦ᛫ᚠᚱᚩᚠᚢᚱ᛫ 𐌰𐌱𐌲 𓀀𓀁𓀂 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕳𝖊𝖑𝖑𝖔",
    "Ω≈ç√∫˜µ≤≥÷ ∀x∈ℝ: x²≥0 ∑∏∂∇ ⊕⊗ ℵ₀ ½ ¾ ⅓",
    "┌─┬─┐│ │ │└─┴─┘ ░▒▓█ ←↑→↓ ♠♣♥♦ ☀☁☂",
    "e\u0301 a\u0308 n\u0303 (combining) \u200b zero\u200cwidth\u200djoiner \u2060 \ufeffBOM",
    "\u202eright-to-left override\u202c \u200fRLM \u200eLRM",
    "ﬁ ﬂ ﬀ ligatures Ｆｕｌｌｗｉｄｔｈ ｶﾀｶﾅ ①②③ ㈱",
];
const emoji = [
    "👋 🎉 🙂 😀😃😄😁",
    "👋🏻👋🏼👋🏽👋🏾👋🏿",
    "👩‍👩‍👧‍👦 👨‍💻 🧑‍🚀 🏳️‍🌈 🏴‍☠️",
    "🇫🇷🇩🇪🇯🇵🇺🇸🇧🇷 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "❤️ ❤ ☺️ ✌️ ✅ ✔︎ ⭐️",
    "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ 🦙🦙",
    "🤔➡️🌱🌎✨➡️🚶‍♂️🚶‍♀️❓➡️🌅🌄🌌",
    "🗽⃢⃢🗿 🥲 🩵 🫠 🪿",
    "1️⃣2️⃣3️⃣ #️⃣ *️⃣",
];
const special = [
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n4<end_of_turn>\n",
    "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
    "<bos>hello<eos>",
    "</s> <s> </s><s>",
    "<pad><pad><unk><mask>",
    "<unused0> <unused12><unused98>",
    "[multimodal] <start_of_image><image_soft_token><end_of_image>",
    "<table><tr><td>cell</td></tr></table>",
    "<h1>Title</h1><blockquote>quote</blockquote><code>x</code>",
    "<start_of_turn><end_of_turn><start_of_turn>",
    "<start_of_turn", "end_of_turn>", "<bos", "<eos >", "< bos>",
    "<0x41> is not A, <0x0A> is not a newline, <0xZZ>",
    "▁ literal lower one eighth block ▁▁ and ▁▁▁",
    "▁hello ▁ world▁",
    "a▁ b ▁c",
];
const numbers = [
    "0", "7", "42", "123", "3333", "33333", "333333", "3333333", "33333333",
    "3.14159265358979323846", "1,234,567.89", "1e-10", "-0.0", "+42", "0x1F", "0b1010", "1_000_000",
    "2024-06-01 12:34:56", "+1 (555) 123-4567", "$5.99 100% #tag @user", "3..3 3...3",
    "9999999999999999999999999999", "1/2 3/4 10:30 v1.2.3",
];
const whitespace = [
    " ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2003",
    " leading space", "trailing space ", "  two  spaces   three    four",
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n",
    "line one\nline two\n\nline four\n\n\n\nend",
    "\t\ttabs\tand   mixed \n \t whitespace",
    " ".repeat(31), " ".repeat(32), " ".repeat(45), "\n".repeat(31), "\n".repeat(40), "\t".repeat(31), "\t".repeat(33),
    "a\u0000b\u0001c\u001fd\u007fe",
    "\u000b\u000c vertical tab and form feed",
];

// mulberry32: a small deterministic PRNG.
function rng(seed) {
    return () => {
        seed |= 0;
        seed = (seed + 0x6D2B79F5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const separators = ["", " ", " ", " ", "  ", "\n", "\n\n", "\t", "   ", " \n", "\u00a0"];
// Separators with a literal ▁ (U+2581), SentencePiece's space symbol.
const sepsU2581 = ["▁", " ▁", "▁ ", "▁▁", " ▁ "];

// A random substring of s at code-point boundaries.
function slice(r, s) {
    const cps = Array.from(s);
    const a = Math.floor(r() * cps.length);
    const b = a + 1 + Math.floor(r() * (cps.length - a));
    return cps.slice(a, b).join("");
}

// corpus returns the test strings: the fixed cases, then random mixtures
// until there are n strings without U+2581 (▁), then nU2581 more mixtures
// joined by separators that contain it.
export function corpus(n = 3100, nU2581 = 250) {
    const fixed = [...prose, ...code, ...scripts, ...emoji, ...special, ...numbers, ...whitespace];
    const out = [...fixed];
    // Every special token glued to neighbouring text.
    for (const s of ["<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "</s>", "<mask>", "<unused5>", "<table>", "[multimodal]"]) {
        out.push("x" + s + "y", " " + s + " ", s + s, "\n" + s + "\n");
    }
    // Runs of each whitespace character, 1 to 35 long, between words.
    for (const c of [" ", "\n", "\t"]) {
        for (let k = 1; k <= 35; k++) {
            out.push("a" + c.repeat(k) + "b");
        }
    }
    const pools = [prose, code, scripts, emoji, special.filter((s) => !s.includes("▁")), numbers, whitespace];
    const weights = [4, 4, 5, 2, 1, 2, 2];
    const total = weights.reduce((a, b) => a + b, 0);
    const r = rng(20250617);
    const pick = () => {
        let x = r() * total;
        for (let i = 0; i < pools.length; i++) {
            x -= weights[i];
            if (x < 0) return pools[i];
        }
        return pools[0];
    };
    const mix = (seps) => {
        const parts = 1 + Math.floor(r() * 4);
        let s = "";
        for (let i = 0; i < parts; i++) {
            const pool = pick();
            let frag = pool[Math.floor(r() * pool.length)];
            if (r() < 0.5) frag = slice(r, frag);
            s += (i > 0 ? seps[Math.floor(r() * seps.length)] : "") + frag;
        }
        const cps = Array.from(s);
        return cps.length > 100 ? cps.slice(0, 100).join("") : s;
    };
    const seen = new Set(out);
    const plain = () => out.filter((s) => !s.includes("▁")).length;
    while (plain() < n) {
        const s = mix(separators);
        if (!seen.has(s)) {
            seen.add(s);
            out.push(s);
        }
    }
    for (let k = 0; k < nU2581;) {
        const s = mix(sepsU2581);
        if (!seen.has(s) && s.includes("▁")) {
            seen.add(s);
            out.push(s);
            k++;
        }
    }
    return out;
}
