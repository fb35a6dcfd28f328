// BOM, then non-ASCII everywhere
const été = '   😀 \ud800';
const مرحبا = `${été}é`;
console.log(مرحبا.length, /\p{L}+/u.test('é'));
