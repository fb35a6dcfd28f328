import { a } from "./other.js";
console.log(a);
