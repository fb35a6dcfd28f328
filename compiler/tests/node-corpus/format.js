// Format specifiers and argument joining.
console.log("%s is %d years and %i days, %f%%", "Bob", 42.5, 42.9, "1.25");
console.log("%s %s", { a: { b: 1 } }, [1, [2, [3]]]);
console.log("%d %i %f", "12abc", "12.9abc", "x");
console.log("%j", { a: [1, { b: 2 }] });
console.log("%O", { a: { b: { c: { d: 1 } } } });
console.log("%c styled %c text", "color: red", "font-weight: bold");
console.log("%s", "only one", "extra", 3, { x: 1 });
console.log("no args %s %d");
console.log("100%", 5, "%s");
console.log(5, "%s", "x");
console.log("%s", Symbol("sym"), "%s", 12n);
