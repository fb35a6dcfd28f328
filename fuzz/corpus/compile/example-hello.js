// The smallest Kiln program.
console.log("Hello, world!");
