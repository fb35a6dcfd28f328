// Strings with lone surrogates (UTF-16 that UTF-8 cannot encode): Node writes
// U+FFFD for each, inspects them escaped, and TextEncoder encodes U+FFFD.
const high = "a\ud800b";
const low = "\udc00";
console.log(high, low, "pair: \ud83d\ude00");
console.log([high, low], { key: "\ud83d" });
console.log("%s|%s", high, low);
console.error("to stderr:", low);
console.log(JSON.stringify(high), high.length);
console.log(Array.from(new TextEncoder().encode(high)).join(","));
console.log(new TextDecoder().decode(new TextEncoder().encode(low)) === "\ufffd");
